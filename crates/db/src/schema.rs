//! The schema, written by hand to the column types both backends share (see
//! `docs/ARCHITECTURE.md`): UUIDs as `Text`, `Timestamp` in UTC, `Date` in the configured zone.

diesel::table! {
    chapters (id) {
        id -> Text,
        name -> Text,
        parent_id -> Nullable<Text>,
        path -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    hospitals (id) {
        id -> Text,
        name -> Text,
        province -> Nullable<Text>,
        commune -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        username -> Text,
        password_hash -> Text,
        role -> Text,
        chapter_id -> Nullable<Text>,
        hospital_id -> Nullable<Text>,
        disabled -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        token_version -> Integer,
    }
}

diesel::table! {
    api_keys (id) {
        id -> Text,
        hospital_id -> Text,
        name -> Text,
        key_hash -> Text,
        created_by -> Text,
        created_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    donors (id) {
        id -> Text,
        full_name -> Text,
        name_folded -> Text,
        date_of_birth -> Date,
        sex -> Text,
        national_id -> Nullable<Text>,
        blood_group -> Nullable<Text>,
        phone -> Nullable<Text>,
        province -> Nullable<Text>,
        province_folded -> Nullable<Text>,
        commune -> Nullable<Text>,
        commune_folded -> Nullable<Text>,
        weight_kg -> Nullable<Double>,
        reserve -> Bool,
        reserve_since -> Nullable<Date>,
        prior_donations -> Integer,
        prior_last_donation_on -> Nullable<Date>,
        chapter_id -> Nullable<Text>,
        collected_count -> Integer,
        first_collected_on -> Nullable<Date>,
        last_donation_at -> Nullable<Timestamp>,
        last_component -> Nullable<Text>,
        next_eligible_on -> Nullable<Date>,
        deferred_until -> Nullable<Date>,
        permanently_deferred -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        last_chapter_id -> Nullable<Text>,
    }
}

diesel::table! {
    drives (id) {
        id -> Text,
        name -> Text,
        chapter_id -> Text,
        starts_on -> Date,
        ends_on -> Date,
        target_units -> Nullable<Integer>,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    events (id) {
        id -> Text,
        drive_id -> Text,
        site -> Text,
        held_on -> Date,
        province -> Nullable<Text>,
        commune -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    emergency_requests (id) {
        id -> Text,
        hospital_id -> Text,
        blood_group -> Text,
        component -> Text,
        units_needed -> Integer,
        units_received -> Integer,
        urgency -> Text,
        status -> Text,
        needed_by -> Nullable<Timestamp>,
        province -> Nullable<Text>,
        province_folded -> Nullable<Text>,
        commune -> Nullable<Text>,
        commune_folded -> Nullable<Text>,
        note -> Nullable<Text>,
        opened_at -> Timestamp,
        created_by_user -> Nullable<Text>,
        created_by_key -> Nullable<Text>,
        created_at -> Timestamp,
        closed_at -> Nullable<Timestamp>,
        disclosure_cap -> Nullable<Integer>,
    }
}

diesel::table! {
    donations (id) {
        id -> Text,
        donor_id -> Text,
        event_id -> Nullable<Text>,
        emergency_request_id -> Nullable<Text>,
        drive_id -> Nullable<Text>,
        chapter_id -> Nullable<Text>,
        component -> Text,
        volume_ml -> Integer,
        outcome -> Text,
        donated_at -> Timestamp,
        donated_on -> Date,
        unit_code -> Nullable<Text>,
        deferral_reason -> Nullable<Text>,
        deferred_until -> Nullable<Date>,
        permanent -> Bool,
        voided -> Bool,
        void_reason -> Nullable<Text>,
        voided_at -> Nullable<Timestamp>,
        voided_by -> Nullable<Text>,
        recorded_by -> Text,
        client_ref -> Nullable<Text>,
        client_ref_hash -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    donor_responses (id) {
        id -> Text,
        request_id -> Text,
        donor_id -> Text,
        response -> Text,
        recorded_by -> Text,
        recorded_at -> Timestamp,
    }
}

diesel::table! {
    awards (id) {
        id -> Text,
        donor_id -> Text,
        tier -> Integer,
        awarded_on -> Date,
        note -> Nullable<Text>,
        recorded_by -> Text,
        created_at -> Timestamp,
        voided -> Bool,
        void_reason -> Nullable<Text>,
        voided_at -> Nullable<Timestamp>,
        voided_by -> Nullable<Text>,
    }
}

diesel::table! {
    idempotency_keys (id) {
        id -> Text,
        principal -> Text,
        idem_key -> Text,
        request_hash -> Text,
        response_status -> Integer,
        response_body -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    audit_log (seq) {
        seq -> BigInt,
        id -> Text,
        at -> Timestamp,
        action -> Text,
        actor_user_id -> Nullable<Text>,
        actor_key_id -> Nullable<Text>,
        hospital_id -> Nullable<Text>,
        request_id -> Nullable<Text>,
        donor_ids -> Text,
        detail -> Text,
        prev_hash -> Nullable<Text>,
        hash -> Nullable<Text>,
        http_request_id -> Nullable<Text>,
        key_fp -> Nullable<Text>,
    }
}

diesel::table! {
    rules_fingerprints (name) {
        name -> Text,
        fingerprint -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    emergency_disclosures (request_id, donor_id) {
        request_id -> Text,
        donor_id -> Text,
        disclosed_at -> Timestamp,
    }
}

diesel::joinable!(users -> chapters (chapter_id));
diesel::joinable!(users -> hospitals (hospital_id));
diesel::joinable!(api_keys -> hospitals (hospital_id));
diesel::joinable!(drives -> chapters (chapter_id));
diesel::joinable!(events -> drives (drive_id));
diesel::joinable!(donations -> donors (donor_id));
diesel::joinable!(donations -> events (event_id));
diesel::joinable!(donations -> emergency_requests (emergency_request_id));
diesel::joinable!(emergency_requests -> hospitals (hospital_id));
diesel::joinable!(donor_responses -> donors (donor_id));
diesel::joinable!(donor_responses -> emergency_requests (request_id));
diesel::joinable!(awards -> donors (donor_id));
diesel::joinable!(emergency_disclosures -> emergency_requests (request_id));

diesel::allow_tables_to_appear_in_same_query!(
    chapters,
    hospitals,
    users,
    api_keys,
    donors,
    drives,
    events,
    emergency_requests,
    donations,
    donor_responses,
    awards,
    idempotency_keys,
    audit_log,
    rules_fingerprints,
    emergency_disclosures,
);

diesel::table! {
    registry_reads (principal_id, window_start) {
        principal_id -> Text,
        window_start -> Timestamp,
        donors -> BigInt,
    }
}
