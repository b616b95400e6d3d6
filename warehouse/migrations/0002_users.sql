-- Local accounts. Passwords are stored only as argon2 hashes.
CREATE TABLE users (
    username       VARCHAR PRIMARY KEY,
    display_name   VARCHAR NOT NULL,
    role           VARCHAR NOT NULL CHECK (role IN ('admin', 'broker', 'firm')),
    firm           VARCHAR,                -- the firm a firm user belongs to
    password_hash  VARCHAR NOT NULL,
    created_at     TIMESTAMP NOT NULL,
    CHECK (role <> 'firm' OR firm IS NOT NULL)
);
