//! App settings: every backend stores an app's allowed CORS origins and its own rate
//! limits, per app, as given.

use chat_protocol::{AppRateLimits, AppSettings, RateLimitSetting};
use chat_server::store::StoreError;

use super::{Factory, open};

/// Settings start empty, are replaced whole, stay inside their app, and an unknown app is
/// `NotFound`; `all_cors_origins` lists every (app, origin) pair of every app.
pub async fn app_settings_round_trip(factory: Factory) {
    let (store, _rec, _keep) = open(factory).await;
    let a = store.create_app("settings-a").await.unwrap();
    let b = store.create_app("settings-b").await.unwrap();
    assert_eq!(
        store.app_settings(&a.app_id).await.unwrap(),
        AppSettings::default()
    );
    assert!(store.all_cors_origins().await.unwrap().is_empty());
    let origins = |list: &[&str]| AppSettings {
        cors_origins: list.iter().map(|s| (*s).to_owned()).collect(),
        ..AppSettings::default()
    };
    let set = origins(&["https://a.example.com", "http://localhost:5173"]);
    assert_eq!(
        store
            .set_app_settings(&a.app_id, set.clone())
            .await
            .unwrap(),
        set
    );
    assert_eq!(store.app_settings(&a.app_id).await.unwrap(), set);
    assert_eq!(
        store.app_settings(&b.app_id).await.unwrap(),
        AppSettings::default()
    );
    store
        .set_app_settings(&b.app_id, origins(&["https://b.example.com"]))
        .await
        .unwrap();
    let mut all = store.all_cors_origins().await.unwrap();
    all.sort();
    let mut want = vec![
        (a.app_id.clone(), "http://localhost:5173".to_owned()),
        (a.app_id.clone(), "https://a.example.com".to_owned()),
        (b.app_id.clone(), "https://b.example.com".to_owned()),
    ];
    want.sort();
    assert_eq!(all, want);
    // replaced whole, not merged
    let one = origins(&["https://a2.example.com"]);
    store
        .set_app_settings(&a.app_id, one.clone())
        .await
        .unwrap();
    assert_eq!(store.app_settings(&a.app_id).await.unwrap(), one);
    store
        .set_app_settings(&a.app_id, AppSettings::default())
        .await
        .unwrap();
    assert_eq!(store.all_cors_origins().await.unwrap().len(), 1);
    // rate limits: either, both or none, kept exactly (fractional rates too), per app
    let limit = |per_second, burst| Some(RateLimitSetting { per_second, burst });
    for rate_limits in [
        AppRateLimits {
            writes: limit(0.25, 3),
            reads: None,
        },
        AppRateLimits {
            writes: limit(20.0, 100),
            reads: limit(1234.5, 100_000),
        },
        AppRateLimits::default(),
    ] {
        let set = AppSettings {
            rate_limits,
            ..origins(&["https://a3.example.com"])
        };
        assert_eq!(
            store
                .set_app_settings(&a.app_id, set.clone())
                .await
                .unwrap(),
            set
        );
        assert_eq!(store.app_settings(&a.app_id).await.unwrap(), set);
        assert_eq!(
            store.app_settings(&b.app_id).await.unwrap().rate_limits,
            AppRateLimits::default()
        );
    }
    for result in [
        store.app_settings("app_missing").await,
        store
            .set_app_settings("app_missing", AppSettings::default())
            .await,
    ] {
        assert!(matches!(result, Err(StoreError::NotFound(_))), "{result:?}");
    }
}
