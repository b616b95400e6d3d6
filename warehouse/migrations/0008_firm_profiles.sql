-- Schema v8: what a firm gave at sign-up beside its name (users.firm), so that an anonymous
-- challenge hides the firm under that name too. Optional: a row exists only when a value was entered.
CREATE TABLE firm_profiles (
    firm          VARCHAR PRIMARY KEY,  -- as in users.firm and challenges.firm
    english_name  VARCHAR NOT NULL,     -- as entered (jiebang user add --firm-en)
    updated_at    TIMESTAMP NOT NULL
);
