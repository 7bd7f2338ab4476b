//! Cloud profiles: where a cloud's token service and resource manager live, and the audience
//! that its federated credentials expect by default.

use serde::Serialize;

/// One Azure cloud, or the local stand-in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CloudProfile {
    /// The name `az cloud list` uses (`AzureCloud`, ...), or `local`.
    pub name: &'static str,
    /// The Entra authority host, `https://login.microsoftonline.com` for the public cloud.
    /// Empty for `local`, where it is the wid endpoint.
    pub authority_host: &'static str,
    /// The resource manager endpoint, `https://management.azure.com` for the public cloud.
    /// Empty for `local`, where it is the wid endpoint.
    pub resource_manager: &'static str,
    /// The resource whose `/.default` scope gives an ARM token.
    pub arm_resource: &'static str,
    /// The default audience of a federated identity credential in this cloud.
    pub token_exchange_audience: &'static str,
}

/// The public Azure cloud.
pub const AZURE_CLOUD: CloudProfile = CloudProfile {
    name: "AzureCloud",
    authority_host: "https://login.microsoftonline.com",
    resource_manager: "https://management.azure.com",
    arm_resource: "https://management.azure.com",
    token_exchange_audience: "api://AzureADTokenExchange",
};

/// Azure Government.
pub const AZURE_US_GOVERNMENT: CloudProfile = CloudProfile {
    name: "AzureUSGovernment",
    authority_host: "https://login.microsoftonline.us",
    resource_manager: "https://management.usgovcloudapi.net",
    arm_resource: "https://management.usgovcloudapi.net",
    token_exchange_audience: "api://AzureADTokenExchangeUSGov",
};

/// Azure operated by 21Vianet.
pub const AZURE_CHINA_CLOUD: CloudProfile = CloudProfile {
    name: "AzureChinaCloud",
    authority_host: "https://login.chinacloudapi.cn",
    resource_manager: "https://management.chinacloudapi.cn",
    arm_resource: "https://management.chinacloudapi.cn",
    token_exchange_audience: "api://AzureADTokenExchangeChina",
};

/// The local stand-in served by `wid up`: same audience and ARM resource as the public
/// cloud, so that tokens and credentials look exactly like the real ones.
pub const LOCAL: CloudProfile = CloudProfile {
    name: "local",
    authority_host: "",
    resource_manager: "",
    arm_resource: "https://management.azure.com",
    token_exchange_audience: "api://AzureADTokenExchange",
};

/// All known profiles.
pub const ALL: [&CloudProfile; 4] = [
    &LOCAL,
    &AZURE_CLOUD,
    &AZURE_US_GOVERNMENT,
    &AZURE_CHINA_CLOUD,
];

impl CloudProfile {
    /// Finds a profile by name, case-insensitively.
    pub fn by_name(name: &str) -> Option<&'static CloudProfile> {
        ALL.into_iter().find(|c| c.name.eq_ignore_ascii_case(name))
    }
    /// The names of all profiles, for error messages.
    pub fn names() -> Vec<&'static str> {
        ALL.iter().map(|c| c.name).collect()
    }
}

/// The audiences that ARM accepts in a bearer token.
pub const ARM_AUDIENCES: [&str; 4] = [
    "https://management.core.windows.net/",
    "https://management.core.windows.net",
    "https://management.azure.com/",
    "https://management.azure.com",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_is_case_insensitive() {
        assert_eq!(CloudProfile::by_name("azurecloud"), Some(&AZURE_CLOUD));
        assert_eq!(
            CloudProfile::by_name("AzureChinaCloud")
                .unwrap()
                .token_exchange_audience,
            "api://AzureADTokenExchangeChina"
        );
        assert!(CloudProfile::by_name("mars").is_none());
    }
}
