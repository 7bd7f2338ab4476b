//! The token service's request decoder (`wid_cloud::sts::TokenParams::from_request`): a form
//! body, then after the first NUL byte an `Authorization` header value. Any input is decoded
//! without a panic into parameters or an AADSTS error whose wire text renders. Properties: a
//! decoded secret never shows in `Debug`; a decoded `scope` yields its resource or an AADSTS
//! error.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wid_cloud::sts::{TokenParams, resource_of_scope};

fuzz_target!(|data: &[u8]| {
    let (body, authorization) = match data.iter().position(|b| *b == 0) {
        Some(nul) => (&data[..nul], std::str::from_utf8(&data[nul + 1..]).ok()),
        None => (data, None),
    };
    let params = match TokenParams::from_request(body, authorization) {
        Ok(params) => params,
        Err(error) => {
            let _ = (error.code(), error.error(), error.status(), error.message());
            let _ = (error.remedy(), error.to_string());
            return;
        }
    };
    let debug = format!("{params:?}");
    for secret in [
        &params.client_secret,
        &params.client_assertion,
        &params.basic_secret,
    ]
    .into_iter()
    .flatten()
    {
        // A short secret can occur by chance in the field names, and any secret can be part
        // of a field that is shown (`scope=...client_secret=...` is one scope).
        let shown = [
            &params.grant_type,
            &params.client_id,
            &params.scope,
            &params.resource,
            &params.client_assertion_type,
        ];
        let elsewhere = shown
            .into_iter()
            .flatten()
            .any(|s| s.contains(secret.expose_str()));
        // Nor is a secret that spells a field name (`client_secret=client_secret`).
        let skeleton = format!("{:?} Some([redacted])", TokenParams::default());
        let a_name = skeleton.contains(secret.expose_str());
        if secret.expose_str().len() >= 12 && !elsewhere && !a_name {
            assert!(!debug.contains(secret.expose_str()), "a secret in {debug}");
        }
    }
    for scope in [&params.scope, &params.resource].into_iter().flatten() {
        match resource_of_scope(scope) {
            Ok(resource) => assert!(scope.contains(&format!("{resource}/.default"))),
            Err(error) => {
                let _ = error.message();
            }
        }
    }
});
