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

/// The CA's parameters; the same every time, so that a server certificate can be issued
/// again from the stored CA key.
fn ca_params() -> Result<CertificateParams, rcgen::Error> {
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
    Ok(ca)
}

/// The names every server certificate carries: `localhost`, `127.0.0.1` and `::1`, then
/// `extra_names` (host names or IP addresses), without repeats.
pub fn server_names(extra_names: &[String]) -> Vec<String> {
    let mut names = vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ];
    for n in extra_names {
        if !names.iter().any(|m| m.eq_ignore_ascii_case(n)) {
            names.push(n.clone());
        }
    }
    names
}

/// Issues a server certificate for [`server_names`]`(extra_names)`, ECDSA P-256, signed by
/// the CA whose key is `ca_key`; returns (certificate PEM, private key PEM).
pub fn issue_server(
    ca_key: &KeyPair,
    extra_names: &[String],
) -> Result<(String, Secret), rcgen::Error> {
    let server_key = KeyPair::generate()?;
    let mut leaf = CertificateParams::new(Vec::<String>::new())?;
    leaf.distinguished_name.push(DnType::CommonName, "wid");
    leaf.subject_alt_names = server_names(extra_names)
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
    let ca = ca_params()?;
    let issuer = Issuer::from_params(&ca, ca_key);
    let server_cert = leaf.signed_by(&server_key, &issuer)?;
    Ok((server_cert.pem(), Secret::new(server_key.serialize_pem())))
}

/// Makes a CA ("wid local CA") and a server certificate for `localhost`, `127.0.0.1` and
/// `::1` (plus `extra_names`), ECDSA P-256, signed by the CA.
pub fn generate(extra_names: &[String]) -> Result<Generated, rcgen::Error> {
    let ca_key = KeyPair::generate()?;
    let ca_cert = ca_params()?.self_signed(&ca_key)?;
    let (server_cert, server_key) = issue_server(&ca_key, extra_names)?;
    Ok(Generated {
        ca_cert: ca_cert.pem(),
        ca_key: Secret::new(ca_key.serialize_pem()),
        server_cert,
        server_key,
    })
}

/// The names of `names` that the PEM certificate `cert_pem` is not valid for (as a TLS client
/// checks a server's name). A certificate that cannot be read is valid for none.
pub fn names_not_covered(cert_pem: &[u8], names: &[String]) -> Vec<String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, ServerName};
    let Ok(der) = CertificateDer::from_pem_slice(cert_pem) else {
        return names.to_vec();
    };
    let Ok(parsed) = rustls::server::ParsedCertificate::try_from(&der) else {
        return names.to_vec();
    };
    names
        .iter()
        .filter(|n| {
            let Ok(server_name) = ServerName::try_from(n.as_str()) else {
                return true;
            };
            rustls::client::verify_server_name(&parsed, &server_name).is_err()
        })
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reissued_certificate_names_the_new_hosts_under_the_same_ca() {
        let g = generate(&[]).unwrap();
        let wanted = vec![
            "wid.wid.svc.cluster.local".to_string(),
            "10.1.2.3".to_string(),
        ];
        assert_eq!(names_not_covered(g.server_cert.as_bytes(), &wanted), wanted);
        assert!(
            names_not_covered(
                g.server_cert.as_bytes(),
                &["localhost".into(), "127.0.0.1".into()]
            )
            .is_empty()
        );
        let ca_key = KeyPair::from_pem(g.ca_key.expose_str()).unwrap();
        let (cert, _) = issue_server(&ca_key, &wanted).unwrap();
        assert!(names_not_covered(cert.as_bytes(), &wanted).is_empty());
        assert_eq!(
            names_not_covered(cert.as_bytes(), &["other.example".into()]),
            vec!["other.example".to_string()]
        );
        assert_eq!(names_not_covered(b"not a certificate", &wanted), wanted);
    }
}
