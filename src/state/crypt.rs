//! Optional encryption at rest of everything that holds state: the snapshot, its backup,
//! each journal record and saved plans, locally and on Azure Blob (as OpenTofu 1.7 did).
//!
//! A key is derived from a passphrase with Argon2id (RFC 9106; the `argon2` crate of
//! RustCrypto) and seals with ChaCha20-Poly1305 (RFC 8439; `ring`, already in the build for
//! TLS). A sealed file is one JSON line:
//!
//! ```text
//! {"fk_sealed":1,"kdf":"argon2id","m_kib":65536,"t":3,"p":1,"salt":"…","aead":"chacha20-poly1305","nonce":"…","data":"…"}
//! ```
//!
//! The KDF's parameters and salt travel with the data, so a reader needs only the
//! passphrase, and stronger parameters later do not strand old files. One salt (and so one
//! derivation) per process for everything it writes; a fresh random 96-bit nonce per seal.
//! Derived keys are cached per (passphrase, salt, parameters).
//!
//! Rotation: the primary passphrase seals every write; a fallback passphrase only opens.
//! A plaintext file opens without any key, so a state migrates to sealed on its next write.
//! A sealed file without a key, or with a wrong one, is an error before anything changes.
//! Boundary: no IO; passphrases come from the environment map (or files it names) the CLI
//! passes in, and are never shown.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};

use crate::state::error::StateError;

pub(crate) const ENV_PASSPHRASE: &str = "FK_STATE_PASSPHRASE";
pub(crate) const ENV_PASSPHRASE_FILE: &str = "FK_STATE_PASSPHRASE_FILE";
pub(crate) const ENV_FALLBACK: &str = "FK_STATE_PASSPHRASE_FALLBACK";
pub(crate) const ENV_FALLBACK_FILE: &str = "FK_STATE_PASSPHRASE_FALLBACK_FILE";

/// The shortest passphrase accepted (OpenTofu's passphrase key provider asks the same).
pub(crate) const MIN_PASSPHRASE_CHARS: usize = 16;

const FORMAT: u32 = 1;
const KDF: &str = "argon2id";
const AEAD: &str = "chacha20-poly1305";
const SALT_BYTES: usize = 16;
const KEY_BYTES: usize = 32;
/// Binds every seal to this format: a sealed blob of another tool does not open.
const AAD: &[u8] = b"fk sealed v1";
/// What every sealed file starts with (serde writes the fields in declaration order).
const MARK: &[u8] = b"{\"fk_sealed\":";

/// Argon2id cost: RFC 9106 section 4's second recommended option (64 MiB, 3 passes), with
/// one lane because the argon2 crate computes lanes one after another anyway.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Cost {
    m_kib: u32,
    t: u32,
    p: u32,
}

const COST: Cost = Cost {
    m_kib: 64 * 1024,
    t: 3,
    p: 1,
};

#[derive(Serialize, Deserialize)]
struct Sealed {
    fk_sealed: u32,
    kdf: String,
    m_kib: u32,
    t: u32,
    p: u32,
    salt: String,
    aead: String,
    nonce: String,
    data: String,
}

/// Which passphrase (0: primary, 1: fallback), the salt and the cost a key was derived for.
type OpeningSlot = (usize, Vec<u8>, Cost);

/// A passphrase and where it came from (for messages; the text is never shown).
struct Passphrase {
    source: String,
    text: String,
}

impl std::fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Passphrase(from {})", self.source)
    }
}

/// The keys one run seals and opens state with.
#[derive(Debug)]
pub struct StateKeys {
    primary: Passphrase,
    fallback: Option<Passphrase>,
    /// This process's salt for everything it seals, with the key derived from it.
    writing: Mutex<Option<([u8; SALT_BYTES], [u8; KEY_BYTES])>>,
    /// Keys derived to open files: (which passphrase, salt, cost) → key.
    opened: Mutex<HashMap<OpeningSlot, [u8; KEY_BYTES]>>,
    random: SystemRandom,
}

impl StateKeys {
    /// The keys named by the environment: `FK_STATE_PASSPHRASE` (or `_FILE`, a file holding
    /// it) and `FK_STATE_PASSPHRASE_FALLBACK` (or `_FILE`). `None` when no passphrase is set.
    pub(crate) fn from_env(env: &BTreeMap<String, String>) -> Result<Option<StateKeys>, String> {
        let primary = passphrase(env, ENV_PASSPHRASE, ENV_PASSPHRASE_FILE)?;
        let fallback = passphrase(env, ENV_FALLBACK, ENV_FALLBACK_FILE)?;
        match (primary, fallback) {
            (None, None) => Ok(None),
            (None, Some(_)) => Err(format!(
                "{ENV_FALLBACK} is set but {ENV_PASSPHRASE} is not: the fallback only opens state written with an older passphrase; set the new one in {ENV_PASSPHRASE}"
            )),
            (Some(primary), fallback) => Ok(Some(StateKeys::new(primary, fallback))),
        }
    }

    fn new(primary: Passphrase, fallback: Option<Passphrase>) -> StateKeys {
        StateKeys {
            primary,
            fallback,
            writing: Mutex::new(None),
            opened: Mutex::new(HashMap::new()),
            random: SystemRandom::new(),
        }
    }

    /// Keys from literal passphrases (tests, and callers that read them elsewhere).
    pub fn from_passphrases(primary: &str, fallback: Option<&str>) -> StateKeys {
        let literal = |text: &str, source: &str| Passphrase {
            source: source.to_string(),
            text: text.to_string(),
        };
        StateKeys::new(
            literal(primary, ENV_PASSPHRASE),
            fallback.map(|text| literal(text, ENV_FALLBACK)),
        )
    }

    /// Seals `plaintext` into one JSON line (without the newline).
    pub(crate) fn seal(&self, plaintext: &[u8]) -> Result<Vec<u8>, String> {
        let (salt, key) = self.writing_key()?;
        let mut nonce = [0u8; NONCE_LEN];
        self.random
            .fill(&mut nonce)
            .map_err(|_| "the system random source failed".to_string())?;
        let sealing = aead_key(&key)?;
        let mut data = plaintext.to_vec();
        sealing
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(AAD),
                &mut data,
            )
            .map_err(|_| "sealing failed".to_string())?;
        let sealed = Sealed {
            fk_sealed: FORMAT,
            kdf: KDF.to_string(),
            m_kib: COST.m_kib,
            t: COST.t,
            p: COST.p,
            salt: BASE64.encode(salt),
            aead: AEAD.to_string(),
            nonce: BASE64.encode(nonce),
            data: BASE64.encode(data),
        };
        serde_json::to_vec(&sealed).map_err(|error| error.to_string())
    }

    /// Opens a sealed file with the primary passphrase, then the fallback.
    pub fn open(&self, sealed: &[u8]) -> Result<Vec<u8>, String> {
        let sealed: Sealed = serde_json::from_slice(sealed)
            .map_err(|error| format!("its encryption envelope is damaged: {error}"))?;
        if sealed.fk_sealed > FORMAT || sealed.kdf != KDF || sealed.aead != AEAD {
            return Err(format!(
                "it is sealed with format {} ({}, {}), which this fk does not read",
                sealed.fk_sealed, sealed.kdf, sealed.aead
            ));
        }
        let cost = Cost {
            m_kib: sealed.m_kib,
            t: sealed.t,
            p: sealed.p,
        };
        let decode = |text: &str| {
            BASE64
                .decode(text)
                .map_err(|error| format!("its encryption envelope is damaged: {error}"))
        };
        let salt = decode(&sealed.salt)?;
        let nonce: [u8; NONCE_LEN] = decode(&sealed.nonce)?
            .try_into()
            .map_err(|_| "its nonce has the wrong length".to_string())?;
        let data = decode(&sealed.data)?;
        let mut tried = Vec::new();
        for (idx, passphrase) in std::iter::once(&self.primary)
            .chain(self.fallback.as_ref())
            .enumerate()
        {
            let key = self.opening_key(idx, passphrase, &salt, cost)?;
            let mut buffer = data.clone();
            if let Ok(plaintext) = aead_key(&key)?.open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(AAD),
                &mut buffer,
            ) {
                return Ok(plaintext.to_vec());
            }
            tried.push(passphrase.source.clone());
        }
        Err(format!(
            "it does not open with the passphrase from {}: a wrong passphrase, or the file was altered",
            tried.join(" nor the one from ")
        ))
    }

    fn writing_key(&self) -> Result<([u8; SALT_BYTES], [u8; KEY_BYTES]), String> {
        let mut writing = self.writing.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(known) = *writing {
            return Ok(known);
        }
        let mut salt = [0u8; SALT_BYTES];
        self.random
            .fill(&mut salt)
            .map_err(|_| "the system random source failed".to_string())?;
        let key = derive(&self.primary.text, &salt, COST)?;
        *writing = Some((salt, key));
        Ok((salt, key))
    }

    fn opening_key(
        &self,
        idx: usize,
        passphrase: &Passphrase,
        salt: &[u8],
        cost: Cost,
    ) -> Result<[u8; KEY_BYTES], String> {
        let slot = (idx, salt.to_vec(), cost);
        if let Some(key) = self
            .opened
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&slot)
        {
            return Ok(*key);
        }
        if idx == 0
            && cost == COST
            && let Some((own_salt, key)) = *self.writing.lock().unwrap_or_else(|p| p.into_inner())
            && own_salt.as_slice() == salt
        {
            return Ok(key);
        }
        let key = derive(&passphrase.text, salt, cost)?;
        self.opened
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(slot, key);
        Ok(key)
    }
}

fn derive(passphrase: &str, salt: &[u8], cost: Cost) -> Result<[u8; KEY_BYTES], String> {
    // Refuse absurd costs from a tampered envelope before allocating (4 GiB, 100 passes).
    if cost.m_kib > 4 * 1024 * 1024 || cost.t > 100 || cost.p > 16 {
        return Err("its key-derivation cost is out of range".to_string());
    }
    let params = argon2::Params::new(cost.m_kib, cost.t, cost.p, Some(KEY_BYTES))
        .map_err(|error| format!("its key-derivation parameters are invalid: {error}"))?;
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut key = [0u8; KEY_BYTES];
    argon
        .hash_password_into(passphrase.as_bytes(), salt, &mut key)
        .map_err(|error| format!("key derivation failed: {error}"))?;
    Ok(key)
}

fn aead_key(key: &[u8; KEY_BYTES]) -> Result<LessSafeKey, String> {
    UnboundKey::new(&CHACHA20_POLY1305, key)
        .map(LessSafeKey::new)
        .map_err(|_| "the derived key was refused".to_string())
}

fn passphrase(
    env: &BTreeMap<String, String>,
    variable: &str,
    file_variable: &str,
) -> Result<Option<Passphrase>, String> {
    let direct = env.get(variable).filter(|text| !text.is_empty());
    let file = env.get(file_variable).filter(|text| !text.is_empty());
    let (text, source) = match (direct, file) {
        (None, None) => return Ok(None),
        (Some(_), Some(_)) => {
            return Err(format!(
                "both {variable} and {file_variable} are set; set one"
            ));
        }
        (Some(text), None) => (text.clone(), variable.to_string()),
        (None, Some(path)) => {
            let text = std::fs::read_to_string(path).map_err(|error| {
                format!(
                    "cannot read the passphrase file `{path}` named by {file_variable}: {error}"
                )
            })?;
            // A file written by `echo` ends with a newline that is not part of it.
            let text = text.strip_suffix('\n').unwrap_or(&text);
            let text = text.strip_suffix('\r').unwrap_or(text).to_string();
            (text, format!("`{path}` ({file_variable})"))
        }
    };
    if text.chars().count() < MIN_PASSPHRASE_CHARS {
        return Err(format!(
            "the passphrase from {source} is shorter than {MIN_PASSPHRASE_CHARS} characters"
        ));
    }
    Ok(Some(Passphrase { source, text }))
}

/// Whether `bytes` are a sealed file (else they are plaintext).
pub(crate) fn is_sealed(bytes: &[u8]) -> bool {
    bytes.starts_with(MARK)
}

/// What a store writes: `plaintext` sealed when there are keys, as is otherwise.
pub(crate) fn encode(
    keys: Option<&StateKeys>,
    plaintext: Vec<u8>,
    path: &Path,
) -> Result<Vec<u8>, StateError> {
    let Some(keys) = keys else {
        return Ok(plaintext);
    };
    keys.seal(&plaintext)
        .map_err(|message| encryption_error(path, message))
}

/// What a store read, opened: plaintext passes through (it is sealed on its next write).
pub(crate) fn decode(
    keys: Option<&StateKeys>,
    bytes: &[u8],
    path: &Path,
) -> Result<Vec<u8>, StateError> {
    if !is_sealed(bytes) {
        return Ok(bytes.to_vec());
    }
    let Some(keys) = keys else {
        return Err(encryption_error(
            path,
            format!(
                "it is encrypted and no passphrase is set; set {ENV_PASSPHRASE} (or {ENV_PASSPHRASE_FILE})"
            ),
        ));
    };
    let trimmed = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    keys.open(trimmed)
        .map_err(|message| encryption_error(path, message))
}

fn encryption_error(path: &Path, message: String) -> StateError {
    StateError::Encryption {
        path: PathBuf::from(path),
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRIMARY: &str = "correct horse battery staple";
    const OLD: &str = "an older passphrase, rotated";

    #[test]
    fn seals_and_opens_and_hides_the_plaintext() {
        let keys = StateKeys::from_passphrases(PRIMARY, None);
        let plaintext = b"-----BEGIN PRIVATE KEY-----\nMIG...";
        let sealed = keys.seal(plaintext).unwrap();
        assert!(is_sealed(&sealed));
        assert!(!String::from_utf8_lossy(&sealed).contains("PRIVATE KEY"));
        // A second reader (another process) derives the key from the envelope alone.
        let reader = StateKeys::from_passphrases(PRIMARY, None);
        assert_eq!(reader.open(&sealed).unwrap(), plaintext);
        // Two seals of the same bytes differ (fresh nonce).
        assert_ne!(keys.seal(plaintext).unwrap(), sealed);
    }

    #[test]
    fn a_wrong_passphrase_and_an_altered_file_are_refused() {
        let sealed = StateKeys::from_passphrases(PRIMARY, None)
            .seal(b"state")
            .unwrap();
        let wrong = StateKeys::from_passphrases("not the passphrase at all", None);
        let error = wrong.open(&sealed).unwrap_err();
        assert!(error.contains("FK_STATE_PASSPHRASE"), "{error}");
        assert!(
            !error.contains("not the passphrase"),
            "never shown: {error}"
        );

        let mut envelope: serde_json::Value = serde_json::from_slice(&sealed).unwrap();
        let data = envelope["data"].as_str().unwrap().to_string();
        let mut bytes = BASE64.decode(data).unwrap();
        bytes[0] ^= 1;
        envelope["data"] = serde_json::Value::String(BASE64.encode(bytes));
        let altered = serde_json::to_vec(&envelope).unwrap();
        assert!(
            StateKeys::from_passphrases(PRIMARY, None)
                .open(&altered)
                .is_err()
        );
    }

    #[test]
    fn the_fallback_opens_what_the_old_passphrase_sealed_and_writes_use_the_new_one() {
        let old = StateKeys::from_passphrases(OLD, None)
            .seal(b"state")
            .unwrap();
        let rotated = StateKeys::from_passphrases(PRIMARY, Some(OLD));
        assert_eq!(rotated.open(&old).unwrap(), b"state");
        let resealed = rotated.seal(b"state").unwrap();
        assert!(
            StateKeys::from_passphrases(OLD, None)
                .open(&resealed)
                .is_err(),
            "the new seal is not under the old passphrase"
        );
        assert_eq!(
            StateKeys::from_passphrases(PRIMARY, None)
                .open(&resealed)
                .unwrap(),
            b"state"
        );
    }

    #[test]
    fn decode_passes_plaintext_and_refuses_sealed_bytes_without_a_key() {
        let path = Path::new("state/m.json");
        assert_eq!(
            decode(None, b"{\"version\":1}", path).unwrap(),
            b"{\"version\":1}"
        );
        let sealed = StateKeys::from_passphrases(PRIMARY, None)
            .seal(b"x")
            .unwrap();
        let error = decode(None, &sealed, path).unwrap_err().to_string();
        assert!(error.contains("no passphrase is set"), "{error}");
    }

    #[test]
    fn the_environment_names_the_passphrases() {
        let env = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(key, value)| (key.to_string(), value.to_string()))
                .collect()
        };
        assert!(StateKeys::from_env(&env(&[])).unwrap().is_none());
        let short = StateKeys::from_env(&env(&[(ENV_PASSPHRASE, "short")])).unwrap_err();
        assert!(short.contains("shorter than 16"), "{short}");
        assert!(!short.contains("short\""), "{short}");
        let orphan = StateKeys::from_env(&env(&[(ENV_FALLBACK, OLD)])).unwrap_err();
        assert!(orphan.contains("FK_STATE_PASSPHRASE is not"), "{orphan}");

        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("passphrase");
        std::fs::write(&file, format!("{PRIMARY}\n")).unwrap();
        let from_file = StateKeys::from_env(&env(&[(ENV_PASSPHRASE_FILE, file.to_str().unwrap())]))
            .unwrap()
            .unwrap();
        let sealed = from_file.seal(b"x").unwrap();
        assert_eq!(
            StateKeys::from_passphrases(PRIMARY, None)
                .open(&sealed)
                .unwrap(),
            b"x",
            "the trailing newline is not part of the passphrase"
        );
        let both = StateKeys::from_env(&env(&[
            (ENV_PASSPHRASE, PRIMARY),
            (ENV_PASSPHRASE_FILE, file.to_str().unwrap()),
        ]))
        .unwrap_err();
        assert!(both.contains("set one"), "{both}");
    }
}
