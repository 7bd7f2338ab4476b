//! `wid env`: for a real cloud it prints that cloud's values only and needs nothing local;
//! for the stand-in, `--imds` and `--sdk` print what clients need, and the printed lines work.

use std::process::Command;

use serde_json::Value;

use crate::cli_session::{exports, var};
use crate::common::*;

const WID: &str = env!("CARGO_BIN_EXE_wid");

fn wid_env(home: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    let o = Command::new(WID)
        .arg("env")
        .args(args)
        .env("WID_HOME", home)
        .env_remove("WID_ENDPOINT")
        .env_remove("WID_CLOUD")
        .output()
        .unwrap();
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

const CLIENT: &str = "11111111-2222-3333-4444-555555555555";
const TENANT: &str = "66666666-7777-8888-9999-000000000000";

#[test]
fn real_clouds_print_their_own_values_with_no_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("never-created");
    for (cloud, authority, audience) in [
        (
            "AzureCloud",
            "https://login.microsoftonline.com/",
            "api://AzureADTokenExchange",
        ),
        (
            "AzureUSGovernment",
            "https://login.microsoftonline.us/",
            "api://AzureADTokenExchangeUSGov",
        ),
        (
            "AzureChinaCloud",
            "https://login.chinacloudapi.cn/",
            "api://AzureADTokenExchangeChina",
        ),
    ] {
        // Bare: the authority host only.
        let (ok, out, err) = wid_env(&home, &["--cloud", cloud]);
        assert!(ok, "{cloud}: {err}");
        assert_eq!(
            exports(&out),
            vec![("AZURE_AUTHORITY_HOST".to_string(), authority.to_string())]
        );

        // With the webhook's flags: exactly what the webhook injects on that cloud.
        let (ok, out, err) = wid_env(
            &home,
            &[
                "--cloud",
                cloud,
                "--client-id",
                CLIENT,
                "--tenant-id",
                TENANT,
                "--namespace",
                "airflow",
                "--service-account",
                "airflow-worker",
                "--sdk",
                "js",
            ],
        );
        assert!(ok, "{cloud}: {err}");
        let vars = exports(&out);
        assert_eq!(
            vars,
            vec![
                ("AZURE_AUTHORITY_HOST".to_string(), authority.to_string()),
                ("AZURE_CLIENT_ID".to_string(), CLIENT.to_string()),
                ("AZURE_TENANT_ID".to_string(), TENANT.to_string()),
                (
                    "AZURE_FEDERATED_TOKEN_FILE".to_string(),
                    "/var/run/secrets/azure/tokens/azure-identity-token".to_string()
                ),
            ],
            "{cloud}: {out}"
        );
        assert!(
            out.contains(&format!(
                "--subject system:serviceaccount:airflow:airflow-worker --audience {audience}"
            )),
            "{cloud}: {out}"
        );
        for local in [
            "127.0.0.1",
            "SSL_CERT_FILE",
            "REQUESTS_CA_BUNDLE",
            "WID_ENDPOINT",
            "NODE_EXTRA_CA_CERTS",
        ] {
            assert!(!out.contains(local), "{cloud} printed {local}: {out}");
        }

        // JSON for scripts, and a token file of one's own.
        let (ok, out, err) = wid_env(
            &home,
            &[
                "--cloud",
                cloud,
                "--tenant-id",
                TENANT,
                "--token-file",
                "/t",
                "-o",
                "json",
            ],
        );
        assert!(ok, "{err}");
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["AZURE_AUTHORITY_HOST"], authority);
        assert_eq!(v["AZURE_TENANT_ID"], TENANT);
        assert_eq!(v["AZURE_FEDERATED_TOKEN_FILE"], "/t");

        // What cannot hold on a real cloud is refused, with the reason and the fix.
        let (ok, _, err) = wid_env(&home, &["--cloud", cloud, "--client-id", CLIENT]);
        assert!(
            !ok && err.contains("--client-id needs --tenant-id"),
            "{err}"
        );
        let (ok, _, err) = wid_env(&home, &["--cloud", cloud, "--imds"]);
        assert!(
            !ok && err.contains("169.254.169.254") && err.contains("drop --imds"),
            "{err}"
        );
    }
    // Other commands that take --cloud need nothing local either: they fail for want of a
    // credential (IMDS is on loopback in tests), say so, and leave no data directory.
    for args in [
        &[
            "identity",
            "list",
            "--resource-group",
            "rg-airflow",
            "--cloud",
            "AzureUSGovernment",
        ][..],
        &["token", "--cloud", "AzureChinaCloud"][..],
    ] {
        let o = Command::new(WID)
            .args(args)
            .env("WID_HOME", &home)
            .env_remove("AZURE_CLIENT_ID")
            .env_remove("AZURE_TENANT_ID")
            .env_remove("AZURE_CLIENT_SECRET")
            .env_remove("AZURE_FEDERATED_TOKEN_FILE")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{args:?}");
        assert!(
            err.contains("AZURE_CLIENT_SECRET")
                || err.contains("hint: this process has no identity"),
            "{args:?}: {err}"
        );
        assert!(
            !err.contains("wid up"),
            "{args:?} asks for a local server: {err}"
        );
    }
    assert!(!home.exists(), "no data directory was created");
}

#[tokio::test]
async fn imds_and_sdk_lines_point_clients_at_the_stand_in() {
    let c = TestCloud::start().await;
    let (client_id, principal_id) = c.create_identity("mi-env").await;
    let home = c.home.root().to_path_buf();
    let endpoint = c.endpoint.clone();
    let (ok, out, err) = tokio::task::spawn_blocking(move || {
        wid_env(&home, &["--imds", "--sdk", "js", "--endpoint", &endpoint])
    })
    .await
    .unwrap();
    assert!(ok, "{err}");
    let vars = exports(&out);
    assert_eq!(var(&vars, "AZURE_POD_IDENTITY_AUTHORITY_HOST"), c.endpoint);
    assert_eq!(var(&vars, "AZURE_AUTHORITY_HOST"), c.endpoint);
    assert_eq!(
        std::path::PathBuf::from(var(&vars, "NODE_EXTRA_CA_CERTS")),
        c.home.ca_cert()
    );
    assert!(out.contains("disableInstanceDiscovery: true"), "{out}");

    // The printed lines are enough: `wid token` through them reaches the stand-in IMDS.
    let o = tokio::process::Command::new(WID)
        .args(["token", "--client-id", &client_id, "-o", "json"])
        .env_clear()
        .envs(vars.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output()
        .await
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["credential"], "ManagedIdentityCredential");
    assert_eq!(v["claims"]["oid"], principal_id.as_str());
}
