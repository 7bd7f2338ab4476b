//! Clouds the command line can name: the built-in profiles (`wid_model::cloud`) and any cloud
//! registered in the Azure CLI (`az cloud register`), whose endpoints `az cloud show` gives.
//! That is how an operator names Azure Stack, a private cloud, or `wid up` itself as a cloud:
//! the same way the Azure CLI does.

use wid_credential::CliCloud;
use wid_model::CloudProfile;
use wid_model::cloud::ALL;

/// The profile of a cloud registered in the Azure CLI. Its federated credentials' default
/// audience is that of the built-in cloud with the same token service, else the public one.
///
/// The profile lives as long as the process (one command names one cloud), so it is leaked
/// once rather than threading a lifetime through every command.
pub fn registered(c: CliCloud) -> &'static CloudProfile {
    let audience = ALL
        .iter()
        .find(|p| {
            !p.authority_host.is_empty()
                && p.authority_host
                    .eq_ignore_ascii_case(c.authority_host.trim_end_matches('/'))
        })
        .map_or(wid_model::cloud::AZURE_CLOUD.token_exchange_audience, |p| {
            p.token_exchange_audience
        });
    Box::leak(Box::new(CloudProfile {
        name: c.name.leak(),
        authority_host: c.authority_host.leak(),
        resource_manager: c.resource_manager.leak(),
        arm_resource: c.arm_resource.trim_end_matches('/').to_string().leak(),
        token_exchange_audience: audience,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_registered_cloud_takes_its_endpoints_and_the_audience_of_its_token_service() {
        let c = registered(CliCloud {
            name: "wid".into(),
            authority_host: "https://127.0.0.1:8443".into(),
            resource_manager: "https://127.0.0.1:8443".into(),
            arm_resource: "https://management.core.windows.net/".into(),
        });
        assert_eq!(c.name, "wid");
        assert_eq!(c.resource_manager, "https://127.0.0.1:8443");
        assert_eq!(c.arm_resource, "https://management.core.windows.net");
        assert_eq!(c.token_exchange_audience, "api://AzureADTokenExchange");
        let gov = registered(CliCloud {
            name: "gov-stack".into(),
            authority_host: "https://login.microsoftonline.us/".into(),
            resource_manager: "https://management.usgovcloudapi.net".into(),
            arm_resource: "https://management.core.usgovcloudapi.net/".into(),
        });
        assert_eq!(
            gov.token_exchange_audience,
            "api://AzureADTokenExchangeUSGov"
        );
    }
}
