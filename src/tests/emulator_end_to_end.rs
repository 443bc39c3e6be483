//! End-to-end: the Azure provider against `fk emulator` in-process.

use std::sync::Arc;
use std::time::Duration;

use fk::addr::Address;
use fk::provider::azure::{AzureConfig, AzureProvider, StaticToken};
use fk::provider::{Action, OpContext, Provider};
use fk::value::Value;

fn toml_value(text: &str) -> Value {
    let table: toml::Table = toml::from_str(text).unwrap();
    Value::from_json(&serde_json::to_value(table).unwrap())
}

#[tokio::test]
async fn provider_applies_replans_and_destroys_a_module_against_the_emulator() {
    let emulator = fk::emulator::start(fk::emulator::EmulatorConfig {
        provisioning_delay: Duration::from_millis(200),
        ..Default::default()
    })
    .await
    .unwrap();
    let config = AzureConfig {
        poll_interval: Duration::from_millis(20),
        ..AzureConfig::local(&emulator.base_url, "00000000-0000-0000-0000-000000000001")
    };
    let provider = AzureProvider::new(config, Arc::new(StaticToken::new("x"))).unwrap();
    let schemas: std::collections::BTreeMap<_, _> = provider
        .schemas()
        .into_iter()
        .map(|s| (s.type_name.clone(), s))
        .collect();
    let mut states = Vec::new();
    for (ty, text) in [
        (
            "azure_resource_group",
            "name = \"fk\"\nlocation = \"West Europe\"",
        ),
        (
            "azure_storage_account",
            "name = \"fkdemo123\"\nresource_group = \"fk\"\nlocation = \"westeurope\"",
        ),
        (
            "azure_file_share",
            "name = \"etcd\"\nstorage_account_name = \"fkdemo123\"\nresource_group = \"fk\"\nquota_gb = 5",
        ),
        (
            "dns_label",
            "label = \"fk-etcd\"\nlocation = \"westeurope\"",
        ),
    ] {
        let config = toml_value(text);
        let change = provider.plan(&schemas[ty], None, &config).unwrap();
        let id = provider.intended_id(ty, &change.planned);
        let ctx = OpContext::new(Address::new(ty, "x"));
        let state = provider
            .create(&ctx, ty, &id, &change.planned)
            .await
            .unwrap_or_else(|e| panic!("{ty}: {e} {:?}", e.details));
        let read = provider.read(&ctx, ty, &id, &state).await.unwrap().unwrap();
        let again = provider.plan(&schemas[ty], Some(&read), &config).unwrap();
        assert!(
            again.requires_replace.is_empty(),
            "{ty}: {:?}",
            again.requires_replace
        );
        assert!(
            again.planned.same_data(&read),
            "{ty}:\n{}\n{}",
            again.planned.to_json(),
            read.to_json()
        );
        states.push((ty, id, read));
    }
    let key = states[1]
        .2
        .get("primary_access_key")
        .unwrap()
        .as_str()
        .unwrap()
        .to_string();
    let group_text = format!(
        r#"
name = "fk-etcd"
resource_group = "fk"
location = "westeurope"
dns_label = "fk-etcd"
tags = {{ a = "b" }}
[[containers]]
name = "etcd"
image = "registry.k8s.io/etcd:3.5.21-0"
command = ["etcd"]
cpu = 1
memory_gb = 2
ports = [{{ port = 2379 }}]
env = {{ A = "1" }}
secure_env = {{ S = "secret" }}
volume_mounts = [{{ name = "data", mount_path = "/data" }}, {{ name = "snap", mount_path = "/snap" }}, {{ name = "certs", mount_path = "/certs" }}]
readiness_probe = {{ http_get = {{ path = "/health", port = 2379 }}, period_seconds = 5 }}
[[init_containers]]
name = "init"
image = "busybox"
command = ["true"]
[[volumes]]
name = "data"
empty_dir = true
[[volumes]]
name = "snap"
azure_file = {{ share_name = "etcd", storage_account_name = "fkdemo123", storage_account_key = "{key}" }}
[[volumes]]
name = "certs"
secret = {{ "ca.crt" = "Y2E=" }}
"#
    );
    let ty = "azure_container_group";
    let config = toml_value(&group_text);
    let ctx = OpContext::new(Address::new(ty, "etcd"));
    let change = provider.plan(&schemas[ty], None, &config).unwrap();
    let id = provider.intended_id(ty, &change.planned);
    let state = provider
        .create(&ctx, ty, &id, &change.planned)
        .await
        .unwrap_or_else(|e| panic!("{e} {:?}", e.details));
    assert_eq!(state.get("state"), Some(&Value::str("Running")));
    let read = provider.read(&ctx, ty, &id, &state).await.unwrap().unwrap();
    let again = provider.plan(&schemas[ty], Some(&read), &config).unwrap();
    assert!(
        again.requires_replace.is_empty() && again.notes.is_empty(),
        "{:?} {:?}",
        again.requires_replace,
        again.notes
    );
    assert!(
        again.planned.same_data(&read),
        "\n{}\n{}",
        again.planned.to_json(),
        read.to_json()
    );
    assert_eq!(read.get("fqdn"), change.planned.get("fqdn"));
    // tags-only → PATCH
    let tagged = toml_value(&group_text.replace("a = \"b\"", "a = \"c\""));
    let change2 = provider.plan(&schemas[ty], Some(&read), &tagged).unwrap();
    assert_eq!(
        change2.notes,
        vec!["tags only: PATCH, restarts nothing".to_string()]
    );
    let st = provider
        .update(&ctx, ty, &id, &read, &change2.planned)
        .await
        .unwrap();
    // image change → PUT in place
    let newimg = toml_value(
        &group_text
            .replace("a = \"b\"", "a = \"c\"")
            .replace("3.5.21-0", "3.5.22-0"),
    );
    let change3 = provider.plan(&schemas[ty], Some(&st), &newimg).unwrap();
    assert_eq!(change3.notes.len(), 1, "{:?}", change3.requires_replace);
    let st = provider
        .update(&ctx, ty, &id, &st, &change3.planned)
        .await
        .unwrap_or_else(|e| panic!("{e} {:?}", e.details));
    let st = provider
        .act(&ctx, ty, &id, &st, Action::Stop)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(st.get("state"), Some(&Value::str("Stopped")));
    let st = provider
        .act(&ctx, ty, &id, &st, Action::Start)
        .await
        .unwrap_or_else(|e| panic!("{e} {:?}", e.details))
        .unwrap();
    assert_eq!(st.get("state"), Some(&Value::str("Running")));
    // cpu change → replace; a second group with same label → taken
    let other = toml_value(&group_text.replace("name = \"fk-etcd\"", "name = \"fk-etcd2\""));
    let change4 = provider.plan(&schemas[ty], None, &other).unwrap();
    let id2 = provider.intended_id(ty, &change4.planned);
    let err = provider
        .create(
            &OpContext::new(Address::new(ty, "etcd2")),
            ty,
            &id2,
            &change4.planned,
        )
        .await
        .unwrap_err();
    assert_eq!(err.code, "fk::azure::dns_name_label_already_taken");
    assert!(!err.message.contains("secret"));
    let bigger = toml_value(&group_text.replace("cpu = 1", "cpu = 2"));
    let err = provider
        .update(
            &ctx,
            ty,
            &id,
            &st,
            &provider.plan(&schemas[ty], None, &bigger).unwrap().planned,
        )
        .await
        .unwrap_err();
    assert_eq!(err.code, "fk::azure::invalid_container_group_update");
    provider.delete(&ctx, ty, &id, &st).await.unwrap();
    assert_eq!(provider.read(&ctx, ty, &id, &st).await.unwrap(), None);
    for (ty, id, st) in states.iter().rev() {
        provider
            .delete(&OpContext::new(Address::new(*ty, "x")), ty, id, st)
            .await
            .unwrap_or_else(|e| panic!("{ty} {e}"));
    }
    emulator.shutdown().await;
}
