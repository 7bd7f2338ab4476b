//! Connection types: their form fields, labels, placeholders, and the checks wid adds.
//!
//! The `azure` type is `AzureBaseHook` of `apache-airflow-providers-microsoft-azure`:
//! - extra fields, in Airflow's order: `tenantId`, `subscriptionId`,
//!   `managed_identity_client_id`, `workload_identity_tenant_id`, and (provider 15.x)
//!   `cloud_environment`;
//! - hidden standard fields `schema`, `port`, `host`; `login` shown as "Azure Client ID" and
//!   `password` as "Azure Secret";
//! - the placeholders of `get_ui_field_behaviour()`.
//!
//! Old forms stored the extra fields as `extra__azure__<name>`. They are read as a fallback
//! (as the provider's `get_field` does) and reported, because `AzureBaseHook` itself reads only
//! the unprefixed keys; writing always uses the unprefixed key.

use super::pyjson::{self, Object, Value};
use super::{Connection, ExtraError, preview};
use crate::ids::is_guid;

/// A standard field of Airflow's connection form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StandardField {
    /// `description`.
    Description,
    /// `host`.
    Host,
    /// `schema`.
    Schema,
    /// `login`.
    Login,
    /// `password`.
    Password,
    /// `port`.
    Port,
    /// `extra`.
    Extra,
}

impl StandardField {
    /// The field's name in Airflow.
    pub fn name(self) -> &'static str {
        match self {
            StandardField::Description => "description",
            StandardField::Host => "host",
            StandardField::Schema => "schema",
            StandardField::Login => "login",
            StandardField::Password => "password",
            StandardField::Port => "port",
            StandardField::Extra => "extra",
        }
    }
}

/// What a field's value must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldRule {
    /// Any text.
    Text,
    /// A GUID in the 8-4-4-4-12 form, as Azure requires for tenant, subscription and client ids.
    Guid,
    /// One of these values; anything else is accepted by Airflow but ignored (a warning).
    OneOf(&'static [&'static str]),
}

/// A custom field of a connection type, stored in `extra`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtraField {
    /// The key in `extra` (unprefixed).
    pub name: &'static str,
    /// The form label.
    pub label: &'static str,
    /// What the value must be.
    pub rule: FieldRule,
}

/// A connection type as Airflow's providers describe it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionType {
    /// `conn_type`.
    pub conn_type: &'static str,
    /// The hook's display name.
    pub hook_name: &'static str,
    /// The hook class.
    pub hook_class_name: &'static str,
    /// The connection id the hook uses by default.
    pub default_conn_name: &'static str,
    /// Custom fields, in the form's order.
    pub extra_fields: &'static [ExtraField],
    /// Standard fields the form hides.
    pub hidden_fields: &'static [StandardField],
    /// Standard fields the form shows under another label.
    pub relabeling: &'static [(StandardField, &'static str)],
    /// Placeholders, by field name (standard or custom), in the provider's order.
    pub placeholders: &'static [(&'static str, &'static str)],
    /// What `login` must be when set.
    pub login_rule: FieldRule,
}

/// The cloud names `cloud_environment` knows.
pub const AZURE_CLOUD_ENVIRONMENTS: &[&str] =
    &["AzurePublicCloud", "AzureUSGovernment", "AzureChinaCloud"];

/// `extra` placeholder of the azure form: `json.dumps({...}, indent=1)`.
pub const AZURE_EXTRA_PLACEHOLDER: &str = "{\n \"key_path\": \"path to json file for auth\",\n \"key_json\": \"specifies json dict for auth\"\n}";

/// The `azure` connection type (`AzureBaseHook`).
pub const AZURE: ConnectionType = ConnectionType {
    conn_type: "azure",
    hook_name: "Azure",
    hook_class_name: "airflow.providers.microsoft.azure.hooks.base_azure.AzureBaseHook",
    default_conn_name: "azure_default",
    extra_fields: &[
        ExtraField {
            name: "tenantId",
            label: "Azure Tenant ID",
            rule: FieldRule::Guid,
        },
        ExtraField {
            name: "subscriptionId",
            label: "Azure Subscription ID",
            rule: FieldRule::Guid,
        },
        ExtraField {
            name: "managed_identity_client_id",
            label: "Managed Identity Client ID",
            rule: FieldRule::Guid,
        },
        ExtraField {
            name: "workload_identity_tenant_id",
            label: "Workload Identity Tenant ID",
            rule: FieldRule::Guid,
        },
        ExtraField {
            name: "cloud_environment",
            label: "Azure Cloud Environment",
            rule: FieldRule::OneOf(AZURE_CLOUD_ENVIRONMENTS),
        },
    ],
    hidden_fields: &[
        StandardField::Schema,
        StandardField::Port,
        StandardField::Host,
    ],
    relabeling: &[
        (StandardField::Login, "Azure Client ID"),
        (StandardField::Password, "Azure Secret"),
    ],
    placeholders: &[
        ("extra", AZURE_EXTRA_PLACEHOLDER),
        ("login", "client_id (token credentials auth)"),
        ("password", "secret (token credentials auth)"),
        ("tenantId", "tenantId (token credentials auth)"),
        ("subscriptionId", "subscriptionId (token credentials auth)"),
        (
            "cloud_environment",
            "AzurePublicCloud (default) | AzureUSGovernment | AzureChinaCloud",
        ),
    ],
    login_rule: FieldRule::Guid,
};

static TYPES: [ConnectionType; 1] = [AZURE];

/// Every connection type wid knows, `azure` first.
pub fn connection_types() -> &'static [ConnectionType] {
    &TYPES
}

/// The type called `conn_type`.
pub fn lookup(conn_type: &str) -> Option<&'static ConnectionType> {
    TYPES.iter().find(|t| t.conn_type == conn_type)
}

/// Where a custom field's value was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySource {
    /// The unprefixed key, e.g. `tenantId`.
    Unprefixed,
    /// The legacy key, e.g. `extra__azure__tenantId`.
    Legacy,
}

/// Why a connection does not fit its type, or a field cannot be read or written.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RegistryError {
    /// The connection has another type.
    #[error("connection type is {}, not `{expected}`; set conn_type to `{expected}`", found.as_deref().map_or("unset".to_string(), |t| format!("`{t}`")))]
    WrongType {
        /// The type checked against.
        expected: &'static str,
        /// The connection's type.
        found: Option<String>,
    },
    /// `extra` is not a JSON object.
    #[error(transparent)]
    Extra(#[from] ExtraError),
    /// No such custom field.
    #[error("`{conn_type}` connections have no field `{field}`; the fields are {known}")]
    UnknownField {
        /// The type.
        conn_type: &'static str,
        /// The name asked for.
        field: String,
        /// The known names.
        known: String,
    },
    /// A custom field holds something other than a string.
    #[error(
        "`{field}` ({label}) must be a string, not {}; quote it in extra",
        preview(value)
    )]
    NotAString {
        /// The key.
        field: String,
        /// The form label.
        label: &'static str,
        /// The value, as JSON.
        value: String,
    },
    /// A value that Azure requires to be a GUID is not one.
    #[error(
        "`{field}` ({label}) must be a GUID such as 72f988bf-86f1-41af-91ab-2d7cd011db47, not {}; copy the id from the Azure portal or `az` output",
        preview(value)
    )]
    NotAGuid {
        /// The key (`login` for the client id).
        field: String,
        /// The form label.
        label: &'static str,
        /// The value found.
        value: String,
    },
}

/// Something Airflow accepts but that will not do what it seems to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Warning {
    /// Only one of `managed_identity_client_id` and `workload_identity_tenant_id` is set.
    #[error(
        "only `{present}` is set ({}), not `{missing}`: Airflow's Azure hooks pass the managed identity to DefaultAzureCredential only when both are set, so Airflow silently falls back to a bare DefaultAzureCredential() that ignores `{present}` and uses whatever identity the environment offers; set `{missing}` too, or remove `{present}`",
        preview(value)
    )]
    PartialWorkloadIdentity {
        /// The key that is set.
        present: &'static str,
        /// The key that is missing.
        missing: &'static str,
        /// The value of the key that is set.
        value: String,
    },
    /// Login, password and `tenantId` are all set, so the managed-identity fields are unused.
    #[error(
        "login, password and `tenantId` are all set, so AzureBaseHook uses the client secret and ignores {fields}; remove them or remove the secret"
    )]
    ClientSecretWins {
        /// The managed-identity keys that are set.
        fields: String,
    },
    /// A value found only under the legacy key.
    #[error(
        "`{field}` is stored as the legacy key `{legacy_key}`, which AzureBaseHook (provider 10.0 and later) no longer reads; store it as `{field}`"
    )]
    LegacyKey {
        /// The unprefixed key.
        field: &'static str,
        /// The legacy key.
        legacy_key: String,
    },
    /// Both the unprefixed and the legacy key are present; the unprefixed one wins.
    #[error(
        "both `{field}` and the legacy `{legacy_key}` are set; Airflow uses `{field}`, remove `{legacy_key}`"
    )]
    ConflictingKeys {
        /// The unprefixed key.
        field: &'static str,
        /// The legacy key.
        legacy_key: String,
    },
    /// A value outside a field's known set, which Airflow silently replaces by its default.
    #[error(
        "`{field}` is {}, which Airflow does not know and replaces by {default}; use one of {known}",
        preview(value)
    )]
    UnknownValue {
        /// The key.
        field: &'static str,
        /// The value found.
        value: String,
        /// What Airflow uses instead.
        default: &'static str,
        /// The known values.
        known: String,
    },
}

/// The outcome of [`ConnectionType::validate`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Validation {
    /// What makes the connection unusable.
    pub errors: Vec<RegistryError>,
    /// What Airflow accepts but probably not as meant.
    pub warnings: Vec<Warning>,
}

impl Validation {
    /// Whether there are no errors (warnings allowed).
    pub fn is_ok(&self) -> bool {
        self.errors.is_empty()
    }
}

fn check_guid(field: &str, label: &'static str, value: &str) -> Result<(), RegistryError> {
    if is_guid(value) {
        Ok(())
    } else {
        Err(RegistryError::NotAGuid {
            field: field.to_string(),
            label,
            value: value.to_string(),
        })
    }
}

impl ConnectionType {
    /// The custom field called `name`.
    pub fn extra_field(&self, name: &str) -> Option<&'static ExtraField> {
        self.extra_fields.iter().find(|f| f.name == name)
    }

    /// The label the form shows for a standard field.
    pub fn label(&self, field: StandardField) -> Option<&'static str> {
        self.relabeling
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, label)| *label)
    }

    /// The placeholder for a field (standard or custom) by name.
    pub fn placeholder(&self, name: &str) -> Option<&'static str> {
        self.placeholders
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, p)| *p)
    }

    /// `extra__<type>__<name>`.
    pub fn legacy_key(&self, name: &str) -> String {
        format!("extra__{}__{name}", self.conn_type)
    }

    fn known_field(&self, name: &str) -> Result<&'static ExtraField, RegistryError> {
        self.extra_field(name)
            .ok_or_else(|| RegistryError::UnknownField {
                conn_type: self.conn_type,
                field: name.to_string(),
                known: self
                    .extra_fields
                    .iter()
                    .map(|f| f.name)
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    /// A custom field's value as the provider's `get_field` reads it: the unprefixed key when
    /// present, else the legacy key; an empty string or `null` is no value.
    pub fn field_value(
        &self,
        conn: &Connection,
        name: &str,
    ) -> Result<Option<(String, KeySource)>, RegistryError> {
        let field = self.known_field(name)?;
        let Some(extra) = conn.extra_object()? else {
            return Ok(None);
        };
        self.read(&extra, field)
    }

    fn read(
        &self,
        extra: &Object,
        field: &ExtraField,
    ) -> Result<Option<(String, KeySource)>, RegistryError> {
        let legacy = self.legacy_key(field.name);
        let (value, source) = match (extra.get(field.name), extra.get(&legacy)) {
            (Some(v), _) => (v, KeySource::Unprefixed),
            (None, Some(v)) => (v, KeySource::Legacy),
            (None, None) => return Ok(None),
        };
        match value {
            Value::Null => Ok(None),
            Value::Str(s) if s.is_empty() => Ok(None),
            Value::Str(s) => Ok(Some((s.clone(), source))),
            other => Err(RegistryError::NotAString {
                field: field.name.to_string(),
                label: field.label,
                value: pyjson::dumps(other),
            }),
        }
    }

    /// Writes a custom field under its unprefixed key (in place of a legacy key, which is
    /// removed); `None` or an empty value removes both keys. Other keys keep their order.
    pub fn set_field(
        &self,
        conn: &mut Connection,
        name: &str,
        value: Option<&str>,
    ) -> Result<(), RegistryError> {
        let field = self.known_field(name)?;
        let mut extra = conn.extra_object()?.unwrap_or_default();
        let legacy = self.legacy_key(field.name);
        match value.filter(|v| !v.is_empty()) {
            Some(v) => {
                let v = Value::Str(v.to_string());
                if extra.contains_key(field.name) {
                    extra.insert(field.name, v);
                    extra.remove(&legacy);
                } else if !extra.rename(&legacy, field.name, v.clone()) {
                    extra.insert(field.name, v);
                }
            }
            None => {
                extra.remove(field.name);
                extra.remove(&legacy);
            }
        }
        conn.set_extra_object(&extra);
        Ok(())
    }

    /// Checks `conn` against this type: errors for what cannot work, warnings for what Airflow
    /// accepts but will not use as it seems.
    pub fn validate(&self, conn: &Connection) -> Validation {
        let mut report = Validation::default();
        if conn.conn_type.as_deref() != Some(self.conn_type) {
            report.errors.push(RegistryError::WrongType {
                expected: self.conn_type,
                found: conn.conn_type.clone(),
            });
        }
        if let Some(login) = conn.login.as_deref().filter(|l| !l.is_empty())
            && self.login_rule == FieldRule::Guid
            && let Err(e) = check_guid(
                "login",
                self.label(StandardField::Login).unwrap_or("Login"),
                login,
            )
        {
            report.errors.push(e);
        }
        let extra = match conn.extra_object() {
            Ok(extra) => extra.unwrap_or_default(),
            Err(e) => {
                report.errors.push(e.into());
                return report;
            }
        };
        for field in self.extra_fields {
            let legacy = self.legacy_key(field.name);
            match (extra.contains_key(field.name), extra.contains_key(&legacy)) {
                (true, true) => report.warnings.push(Warning::ConflictingKeys {
                    field: field.name,
                    legacy_key: legacy,
                }),
                (false, true) => report.warnings.push(Warning::LegacyKey {
                    field: field.name,
                    legacy_key: legacy,
                }),
                _ => {}
            }
            let value = match self.read(&extra, field) {
                Ok(Some((value, _))) => value,
                Ok(None) => continue,
                Err(e) => {
                    report.errors.push(e);
                    continue;
                }
            };
            match field.rule {
                FieldRule::Text => {}
                FieldRule::Guid => {
                    if let Err(e) = check_guid(field.name, field.label, &value) {
                        report.errors.push(e);
                    }
                }
                FieldRule::OneOf(known) => {
                    if !known.contains(&value.as_str()) {
                        report.warnings.push(Warning::UnknownValue {
                            field: field.name,
                            value,
                            default: known.first().copied().unwrap_or(""),
                            known: known.join(", "),
                        });
                    }
                }
            }
        }
        if self.conn_type == AZURE.conn_type {
            azure_credential_warnings(conn, &extra, &mut report);
        }
        report
    }
}

/// What `AzureBaseHook.get_credential` will do, as warnings. It reads only unprefixed keys.
fn azure_credential_warnings(conn: &Connection, extra: &Object, report: &mut Validation) {
    const MI: &str = "managed_identity_client_id";
    const WT: &str = "workload_identity_tenant_id";
    let truthy = |key: &str| extra.get(key).is_some_and(Value::is_truthy);
    let client_secret = conn.login.as_deref().is_some_and(|l| !l.is_empty())
        && conn.effective_password().is_some()
        && truthy("tenantId");
    let set: Vec<&str> = [MI, WT].into_iter().filter(|k| truthy(k)).collect();
    if client_secret {
        if !set.is_empty() {
            report.warnings.push(Warning::ClientSecretWins {
                fields: set.join(" and "),
            });
        }
        return;
    }
    if let [present] = set.as_slice() {
        let missing = if *present == MI { WT } else { MI };
        let value = match extra.get(present) {
            Some(Value::Str(s)) => s.clone(),
            Some(other) => pyjson::dumps(other),
            None => String::new(),
        };
        report.warnings.push(Warning::PartialWorkloadIdentity {
            present: if *present == MI { MI } else { WT },
            missing,
            value,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLIENT: &str = "8b6f0f3c-2a4e-4f8e-9d1a-5c3b2e1f0a9d";
    const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";

    fn azure(extra: &str) -> Connection {
        let mut c = Connection::new("azure");
        c.extra = Some(extra.into());
        c
    }

    #[test]
    fn the_azure_form() {
        let t = lookup("azure").unwrap();
        assert_eq!(connection_types()[0].conn_type, "azure");
        let fields: Vec<_> = t.extra_fields.iter().map(|f| (f.name, f.label)).collect();
        assert_eq!(
            fields[..4],
            [
                ("tenantId", "Azure Tenant ID"),
                ("subscriptionId", "Azure Subscription ID"),
                ("managed_identity_client_id", "Managed Identity Client ID"),
                ("workload_identity_tenant_id", "Workload Identity Tenant ID"),
            ]
        );
        let hidden: Vec<_> = t.hidden_fields.iter().map(|f| f.name()).collect();
        assert_eq!(hidden, ["schema", "port", "host"]);
        assert_eq!(t.label(StandardField::Login), Some("Azure Client ID"));
        assert_eq!(t.label(StandardField::Password), Some("Azure Secret"));
        assert_eq!(t.label(StandardField::Host), None);
        assert_eq!(
            t.placeholder("extra"),
            Some(
                "{\n \"key_path\": \"path to json file for auth\",\n \"key_json\": \"specifies json dict for auth\"\n}"
            )
        );
        assert_eq!(
            t.placeholder("login"),
            Some("client_id (token credentials auth)")
        );
        assert_eq!(
            t.placeholder("password"),
            Some("secret (token credentials auth)")
        );
        assert_eq!(
            t.placeholder("tenantId"),
            Some("tenantId (token credentials auth)")
        );
        assert_eq!(
            t.placeholder("subscriptionId"),
            Some("subscriptionId (token credentials auth)")
        );
        assert!(lookup("wasb").is_none());
    }

    #[test]
    fn workload_identity_is_clean() {
        let c = azure(&format!(
            r#"{{"managed_identity_client_id": "{CLIENT}", "workload_identity_tenant_id": "{TENANT}", "subscriptionId": "{TENANT}"}}"#
        ));
        assert_eq!(AZURE.validate(&c), Validation::default());
    }

    #[test]
    fn guids_are_required_and_errors_show_the_value() {
        let mut c =
            azure(r#"{"tenantId": "contoso.onmicrosoft.com", "subscriptionId": "{not-a-guid}"}"#);
        c.login = Some("my-app".into());
        let report = AZURE.validate(&c);
        let texts: Vec<String> = report.errors.iter().map(ToString::to_string).collect();
        assert_eq!(texts.len(), 3, "{texts:?}");
        assert!(
            texts[0].contains("Azure Client ID") && texts[0].contains("\"my-app\""),
            "{}",
            texts[0]
        );
        assert!(
            texts[1].contains("tenantId") && texts[1].contains("contoso.onmicrosoft.com"),
            "{}",
            texts[1]
        );
        assert!(texts[2].contains("{not-a-guid}"), "{}", texts[2]);
        // braces or no hyphens are not Azure's form
        let c = azure(&format!(r#"{{"tenantId": "{{{TENANT}}}"}}"#));
        assert!(!AZURE.validate(&c).is_ok());
        let c = azure(&format!(r#"{{"tenantId": "{}"}}"#, TENANT.replace('-', "")));
        assert!(!AZURE.validate(&c).is_ok());
    }

    #[test]
    fn half_a_workload_identity_is_a_warning() {
        for (present, missing) in [
            ("managed_identity_client_id", "workload_identity_tenant_id"),
            ("workload_identity_tenant_id", "managed_identity_client_id"),
        ] {
            let report = AZURE.validate(&azure(&format!(r#"{{"{present}": "{CLIENT}"}}"#)));
            assert!(report.is_ok(), "{report:?}");
            assert_eq!(
                report.warnings,
                [Warning::PartialWorkloadIdentity {
                    present: present_static(present),
                    missing: present_static(missing),
                    value: CLIENT.into()
                }]
            );
            let text = report.warnings[0].to_string();
            assert!(
                text.contains("DefaultAzureCredential()")
                    && text.contains(CLIENT)
                    && text.contains(missing),
                "{text}"
            );
        }
        // an empty value is no value, as in Airflow
        let report = AZURE.validate(&azure(&format!(
            r#"{{"managed_identity_client_id": "{CLIENT}", "workload_identity_tenant_id": ""}}"#
        )));
        assert_eq!(report.warnings.len(), 1);
    }

    fn present_static(name: &str) -> &'static str {
        if name == "managed_identity_client_id" {
            "managed_identity_client_id"
        } else {
            "workload_identity_tenant_id"
        }
    }

    #[test]
    fn client_secret_shadows_managed_identity() {
        let mut c = azure(&format!(
            r#"{{"tenantId": "{TENANT}", "managed_identity_client_id": "{CLIENT}"}}"#
        ));
        c.login = Some(CLIENT.into());
        c.password = Some("secret".into());
        let report = AZURE.validate(&c);
        assert!(
            matches!(
                report.warnings.as_slice(),
                [Warning::ClientSecretWins { .. }]
            ),
            "{report:?}"
        );
    }

    #[test]
    fn legacy_keys_are_read_reported_and_rewritten() {
        let mut c = azure(&format!(
            r#"{{"a": "1", "extra__azure__tenantId": "{TENANT}", "z": "2"}}"#
        ));
        assert_eq!(
            AZURE.field_value(&c, "tenantId").unwrap(),
            Some((TENANT.to_string(), KeySource::Legacy))
        );
        let report = AZURE.validate(&c);
        assert!(
            matches!(
                report.warnings.as_slice(),
                [Warning::LegacyKey {
                    field: "tenantId",
                    ..
                }]
            ),
            "{report:?}"
        );
        AZURE.set_field(&mut c, "tenantId", Some(TENANT)).unwrap();
        assert_eq!(
            c.extra_str(),
            Some(format!(r#"{{"a": "1", "tenantId": "{TENANT}", "z": "2"}}"#).as_str())
        );
        assert_eq!(
            AZURE.field_value(&c, "tenantId").unwrap(),
            Some((TENANT.to_string(), KeySource::Unprefixed))
        );
        AZURE.set_field(&mut c, "tenantId", None).unwrap();
        assert_eq!(c.extra_str(), Some(r#"{"a": "1", "z": "2"}"#));
        assert!(matches!(
            AZURE.set_field(&mut c, "extra__azure__tenantId", Some("x")),
            Err(RegistryError::UnknownField { .. })
        ));
    }

    #[test]
    fn unprefixed_key_wins_even_when_empty() {
        let c = azure(&format!(
            r#"{{"tenantId": "", "extra__azure__tenantId": "{TENANT}"}}"#
        ));
        assert_eq!(AZURE.field_value(&c, "tenantId").unwrap(), None);
        assert!(matches!(
            AZURE.validate(&c).warnings.as_slice(),
            [Warning::ConflictingKeys { .. }]
        ));
    }

    #[test]
    fn bad_extras() {
        let report = AZURE.validate(&azure("[1]"));
        assert!(matches!(
            report.errors.as_slice(),
            [RegistryError::Extra(ExtraError::NotAnObject { .. })]
        ));
        let report = AZURE.validate(&azure("{not json"));
        assert!(matches!(
            report.errors.as_slice(),
            [RegistryError::Extra(ExtraError::NotJson { .. })]
        ));
        let report = AZURE.validate(&azure(r#"{"tenantId": 42}"#));
        assert!(
            matches!(&report.errors[..], [RegistryError::NotAString { value, .. }] if value == "42")
        );
        let report = AZURE.validate(&azure(r#"{"cloud_environment": "AzureGermanCloud"}"#));
        assert!(report.is_ok());
        assert!(matches!(
            &report.warnings[..],
            [Warning::UnknownValue {
                default: "AzurePublicCloud",
                ..
            }]
        ));
        let mut other = azure("{}");
        other.conn_type = Some("wasb".into());
        assert!(matches!(
            AZURE.validate(&other).errors.as_slice(),
            [RegistryError::WrongType { .. }]
        ));
    }
}
