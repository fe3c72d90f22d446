//! The data map of a small project (`fixtures/privacy/data-map/`): stores with their personal
//! data and access, recipients, and residency judged against `[compliance] regions`.

use std::path::Path;

use vibeward::Settings;
use vibeward::privacy::build_data_map;
use vibeward::privacy::residency::Status;

fn map() -> vibeward::privacy::DataMap {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/privacy/data-map");
    let settings = Settings {
        paths: vec![root],
        jobs: 2,
        regions: vec!["eu-*".into()],
        ..Settings::default()
    };
    build_data_map(&settings).expect("data map builds")
}

#[test]
fn data_map_lists_stores_with_personal_data_and_access() {
    let map = map();
    let store = |name: &str| {
        map.stores
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("store {name} in {:#?}", map.stores))
    };
    let profiles = store("profiles");
    assert_eq!(profiles.kind, "supabase-table");
    let types: Vec<&str> = profiles
        .fields
        .iter()
        .map(|f| f.data_type.as_str())
        .collect();
    assert_eq!(types, ["name", "phone"]);
    assert_eq!(
        (
            profiles.access.read.as_str(),
            profiles.access.write.as_str()
        ),
        ("owner", "owner")
    );
    let newsletter = store("newsletter");
    assert_eq!(newsletter.access.read, "public");
    let patient = store("Patient");
    assert_eq!(patient.kind, "prisma-model");
    assert_eq!(patient.access.read, "unknown");
    assert!(patient.fields.iter().any(|f| f.data_type == "health"));
}

#[test]
fn data_map_lists_recipients_and_residency() {
    let map = map();
    let posthog = map
        .recipients
        .iter()
        .find(|r| r.name == "PostHog")
        .expect("PostHog receives data");
    assert_eq!(posthog.data_types, ["email"]);
    assert_eq!(map.residency.len(), 1);
    assert_eq!(map.residency[0].status, Some(Status::Outside));
    let json = serde_json::to_string(&map).expect("serialisable");
    assert!(json.contains("\"allowed_regions\":[\"eu-*\"]"), "{json}");
}
