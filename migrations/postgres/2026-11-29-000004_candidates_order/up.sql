-- Emergency candidates in call order, tier by tier (see `repo::candidates`). Elsewhere and
-- same-province tiers can be large (a big province holds a seventh of the donors): per donor
-- group they read their first rows along an index ordered by the last donation (recorded, else
-- paper-era; never donated first, hence NULLS FIRST as SQLite does by default) then id,
-- instead of sorting every eligible reserve donor. The same-commune tier is small and sorts;
-- its index only finds it. Partial on the reserve (about a tenth of the donors). The COALESCE
-- resolves to `timestamp` (the paper-era date at midnight), an immutable cast, so it can be
-- indexed.
CREATE INDEX donors_candidates_idx ON donors
    (blood_group, (COALESCE(last_donation_at, prior_last_donation_on)) NULLS FIRST, id)
    WHERE reserve;
CREATE INDEX donors_candidates_province_idx ON donors
    (blood_group, province_folded,
     (COALESCE(last_donation_at, prior_last_donation_on)) NULLS FIRST, id)
    WHERE reserve;
CREATE INDEX donors_candidates_commune_idx ON donors
    (blood_group, commune_folded, province_folded) WHERE reserve;
