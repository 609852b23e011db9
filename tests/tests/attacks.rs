//! The JWT attack catalogue of issue 3, each numbered item a test through the real handlers,
//! in HS256 and in JWKS mode (see `catalogue/mod.rs` for what each item sends).

mod catalogue;

macro_rules! catalogue_tests {
    ($($item:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $item() {
                catalogue::$item().await;
            }
        )*
    };
}

catalogue_tests!(
    item_01_bearer_header,
    item_02_alg_none,
    item_03_key_confusion,
    item_04_embedded_keys,
    item_05_unknown_kid,
    item_06_crit_and_b64,
    item_07_signature_edge_cases,
    item_08_weak_jwks_keys,
    item_09_times,
    item_10_issuer_and_audience,
    item_11_subject,
    item_12_duplicates_and_encoding,
    item_13_typ_zip_cty_enc,
    item_14_query_and_size,
    item_15_session_cookie_token,
    item_16_weak_hs256_secrets,
    item_17_path_user_is_not_sub,
    item_18_revocation,
);
