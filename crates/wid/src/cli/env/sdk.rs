//! `wid env --sdk`: what each Azure SDK needs beyond the webhook's variables to use wid (its
//! CA, and instance discovery off where MSAL would otherwise ask login.microsoftonline.com
//! about an authority host it does not know), as variables and code snippets.

use std::path::Path;

use clap::ValueEnum;

/// The SDKs `wid env --sdk` knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Sdk {
    /// Python azure-identity (and the Airflow provider): the standard variables suffice.
    Python,
    /// JavaScript @azure/identity (MSAL Node).
    Js,
    /// .NET Azure.Identity.
    Dotnet,
    /// Java azure-identity.
    Java,
    /// Go azidentity.
    Go,
    /// The Azure CLI.
    Az,
}

/// What one SDK needs: extra variables, and comment lines (code to change, commands to run).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct SdkSetup {
    /// Extra `export` lines.
    pub vars: Vec<(String, String)>,
    /// Comment lines, without the leading `# `.
    pub notes: Vec<String>,
}

/// The setup of `sdk` against the local stand-in, whose CA certificate is `ca` and whose
/// home is `home`.
pub fn local(sdk: Sdk, ca: &Path, home: &Path) -> SdkSetup {
    let ca = ca.display().to_string();
    let discovery = "MSAL validates an authority host it does not know by asking login.microsoftonline.com (instance discovery), which cannot vouch for wid: turn it off in code";
    match sdk {
        Sdk::Python => SdkSetup {
            vars: Vec::new(),
            notes: vec![
                "Python azure-identity: nothing more; it trusts REQUESTS_CA_BUNDLE and does no instance discovery for AZURE_AUTHORITY_HOST".into(),
            ],
        },
        Sdk::Js => SdkSetup {
            vars: vec![("NODE_EXTRA_CA_CERTS".into(), ca)],
            notes: vec![
                format!("@azure/identity: {discovery}:"),
                "  new WorkloadIdentityCredential({ disableInstanceDiscovery: true })".into(),
                "  new DefaultAzureCredential({ managedIdentityClientId, tenantId, disableInstanceDiscovery: true })".into(),
                "  ARM clients: new ResourceManagementClient(cred, subscriptionId, { endpoint: process.env.WID_ENDPOINT, credentialScopes: [\"https://management.azure.com/.default\"] })".into(),
            ],
        },
        Sdk::Dotnet => SdkSetup {
            vars: Vec::new(),
            notes: vec![
                "Azure.Identity (.NET on Linux trusts SSL_CERT_FILE through OpenSSL): ".to_string() + discovery + ":",
                "  new WorkloadIdentityCredential(new WorkloadIdentityCredentialOptions { DisableInstanceDiscovery = true })".into(),
                "  new DefaultAzureCredential(new DefaultAzureCredentialOptions { DisableInstanceDiscovery = true })".into(),
            ],
        },
        Sdk::Java => {
            let store = home.join("java-truststore.p12").display().to_string();
            SdkSetup {
                vars: Vec::new(),
                notes: vec![
                    "azure-identity for Java reads neither SSL_CERT_FILE nor REQUESTS_CA_BUNDLE: make a trust store with the JDK's roots and wid's CA, once:".into(),
                    format!("  cp \"$JAVA_HOME/lib/security/cacerts\" {store} && keytool -importcert -noprompt -alias wid-local-ca -file {ca} -keystore {store} -storepass changeit"),
                    format!("  export JAVA_TOOL_OPTIONS=\"-Djavax.net.ssl.trustStore={store} -Djavax.net.ssl.trustStorePassword=changeit\""),
                    format!("and {discovery}:"),
                    "  new WorkloadIdentityCredentialBuilder().disableInstanceDiscovery().build()".into(),
                    "  new DefaultAzureCredentialBuilder().disableInstanceDiscovery().build()".into(),
                ],
            }
        }
        Sdk::Go => SdkSetup {
            vars: Vec::new(),
            notes: vec![
                "azidentity (Go trusts SSL_CERT_FILE on Linux): ".to_string() + discovery + ":",
                "  azidentity.NewWorkloadIdentityCredential(&azidentity.WorkloadIdentityCredentialOptions{DisableInstanceDiscovery: true})".into(),
                "  azidentity.NewDefaultAzureCredential(&azidentity.DefaultAzureCredentialOptions{DisableInstanceDiscovery: true})".into(),
            ],
        },
        Sdk::Az => SdkSetup {
            vars: Vec::new(),
            notes: vec![
                "the Azure CLI trusts REQUESTS_CA_BUNDLE; register wid as a cloud (it reads /metadata/endpoints) and turn instance discovery off, once:".into(),
                "  az cloud register -n wid --endpoint-resource-manager \"$WID_ENDPOINT\" && az cloud set -n wid".into(),
                "  az config set core.instance_discovery=false".into(),
                "  az login --service-principal -u <client id> -t <tenant id> --federated-token \"$(cat $AZURE_FEDERATED_TOKEN_FILE)\"".into(),
            ],
        },
    }
}

/// The setup of `sdk` against a real cloud: the SDK's defaults apply.
pub fn cloud(sdk: Sdk, cloud: &str) -> SdkSetup {
    let name = match sdk {
        Sdk::Python => "Python azure-identity",
        Sdk::Js => "@azure/identity",
        Sdk::Dotnet => "Azure.Identity",
        Sdk::Java => "azure-identity for Java",
        Sdk::Go => "azidentity",
        Sdk::Az => "the Azure CLI",
    };
    SdkSetup {
        vars: Vec::new(),
        notes: vec![format!(
            "{name}: nothing more for {cloud}; its defaults (system CA, instance discovery on) are right"
        )],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_msal_sdk_but_python_turns_instance_discovery_off() {
        let (ca, home) = (Path::new("/h/ca.pem"), Path::new("/h"));
        for sdk in [Sdk::Js, Sdk::Dotnet, Sdk::Java, Sdk::Go, Sdk::Az] {
            let s = local(sdk, ca, home);
            assert!(
                s.notes
                    .iter()
                    .any(|n| n.to_ascii_lowercase().contains("instance")),
                "{sdk:?}: {s:?}"
            );
        }
        assert_eq!(
            local(Sdk::Js, ca, home).vars,
            vec![("NODE_EXTRA_CA_CERTS".to_string(), "/h/ca.pem".to_string())]
        );
        assert!(
            local(Sdk::Java, ca, home)
                .notes
                .iter()
                .any(|n| n.contains("keytool"))
        );
        assert!(local(Sdk::Python, ca, home).vars.is_empty());
        assert!(cloud(Sdk::Go, "AzureCloud").vars.is_empty());
    }
}
