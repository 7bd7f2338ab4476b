//! Identifiers: GUIDs as Azure writes them.

use uuid::Uuid;

/// A new random GUID in Azure's lower-case hyphenated form.
pub fn new_guid() -> String {
    Uuid::new_v4().to_string()
}

/// Whether `s` is a GUID in the 8-4-4-4-12 hexadecimal form (either case).
pub fn is_guid(s: &str) -> bool {
    s.len() == 36 && Uuid::try_parse(s).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guid_shape() {
        let g = new_guid();
        assert!(is_guid(&g), "{g}");
        assert!(is_guid("72F988BF-86F1-41AF-91AB-2D7CD011DB47"));
        assert!(!is_guid("72f988bf86f141af91ab2d7cd011db47"));
        assert!(!is_guid("contoso.onmicrosoft.com"));
    }
}
