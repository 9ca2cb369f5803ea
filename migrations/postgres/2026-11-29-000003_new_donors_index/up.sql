-- The annual report's "new donors" (no paper history, first collection in the year), counted
-- from the donors' own counter `first_collected_on` instead of probing every donation of the
-- year for an earlier one. Partial: only donors without paper history can be new.
CREATE INDEX donors_first_collected_idx ON donors (first_collected_on) WHERE prior_donations = 0;
