//! The local certificate authority and the server certificate it signs.

use wid_model::secret::Secret;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose, SanType,
};

/// PEM files of a freshly made CA and server certificate.
#[derive(Debug)]
pub struct Generated {
    /// CA certificate (PEM).
    pub ca_cert: String,
    /// CA private key (PEM).
    pub ca_key: Secret,
    /// Server certificate (PEM).
    pub server_cert: String,
    /// Server private key (PEM).
    pub server_key: Secret,
}

/// Makes a CA ("wid local CA") and a server certificate for `localhost`, `127.0.0.1` and
/// `::1` (plus `extra_names`), ECDSA P-256, signed by the CA.
pub fn generate(extra_names: &[String]) -> Result<Generated, rcgen::Error> {
    let ca_key = KeyPair::generate()?;
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.distinguished_name
        .push(DnType::CommonName, "wid local CA");
    ca.distinguished_name.push(DnType::OrganizationName, "wid");
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    ca.not_before = rcgen::date_time_ymd(2025, 1, 1);
    ca.not_after = rcgen::date_time_ymd(2045, 1, 1);
    let ca_cert = ca.self_signed(&ca_key)?;

    let mut names = vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ];
    names.extend(extra_names.iter().cloned());
    let server_key = KeyPair::generate()?;
    let mut leaf = CertificateParams::new(Vec::<String>::new())?;
    leaf.distinguished_name.push(DnType::CommonName, "wid");
    leaf.subject_alt_names = names
        .iter()
        .map(|n| match n.parse::<std::net::IpAddr>() {
            Ok(ip) => Ok(SanType::IpAddress(ip)),
            Err(_) => n.clone().try_into().map(SanType::DnsName),
        })
        .collect::<Result<_, _>>()?;
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    leaf.not_before = rcgen::date_time_ymd(2025, 1, 1);
    leaf.not_after = rcgen::date_time_ymd(2045, 1, 1);
    let issuer = Issuer::from_params(&ca, &ca_key);
    let server_cert = leaf.signed_by(&server_key, &issuer)?;
    Ok(Generated {
        ca_cert: ca_cert.pem(),
        ca_key: Secret::new(ca_key.serialize_pem()),
        server_cert: server_cert.pem(),
        server_key: Secret::new(server_key.serialize_pem()),
    })
}
