-- +goose Up
-- Master data of the Customer shape (spec/customer.md "Shared shapes"). The
-- current home address lives on the customer row; future and historical
-- addresses live in customer_addresses.
ALTER TABLE customers ADD COLUMN company_registration_number TEXT NOT NULL DEFAULT '';
ALTER TABLE customers ADD COLUMN company_name TEXT NOT NULL DEFAULT '';
ALTER TABLE customers ADD COLUMN department TEXT NOT NULL DEFAULT '';
ALTER TABLE customers ADD COLUMN department_name TEXT NOT NULL DEFAULT '';
ALTER TABLE customers ADD COLUMN middle_name TEXT NOT NULL DEFAULT '';
ALTER TABLE customers ADD COLUMN care_of_address TEXT NOT NULL DEFAULT '';
ALTER TABLE customers ADD COLUMN street_address TEXT NOT NULL DEFAULT '';
ALTER TABLE customers ADD COLUMN street_number INTEGER;
ALTER TABLE customers ADD COLUMN entrance TEXT NOT NULL DEFAULT '';
ALTER TABLE customers ADD COLUMN floor_type TEXT NOT NULL DEFAULT '';
ALTER TABLE customers ADD COLUMN floor INTEGER;
ALTER TABLE customers ADD COLUMN suite TEXT NOT NULL DEFAULT '';
ALTER TABLE customers ADD COLUMN postal_place TEXT NOT NULL DEFAULT '';
ALTER TABLE customers ADD COLUMN postal_address TEXT NOT NULL DEFAULT '';
ALTER TABLE customers ADD COLUMN postal_address_postal_code TEXT NOT NULL DEFAULT '';
ALTER TABLE customers ADD COLUMN postal_address_postal_place TEXT NOT NULL DEFAULT '';
ALTER TABLE customers ADD COLUMN country_code TEXT NOT NULL DEFAULT '';
ALTER TABLE customers ADD COLUMN birth_date TEXT NOT NULL DEFAULT '';
ALTER TABLE customers ADD COLUMN sex TEXT NOT NULL DEFAULT '';
-- All e-mail addresses and phone numbers as JSON lists; email and phone keep
-- the first of each (e-mail lower-cased) for indexed exact search.
ALTER TABLE customers ADD COLUMN emails TEXT NOT NULL DEFAULT '[]';
ALTER TABLE customers ADD COLUMN phone_numbers TEXT NOT NULL DEFAULT '[]';
ALTER TABLE customers ADD COLUMN invoice_email TEXT NOT NULL DEFAULT '';
-- Lower-cased copies (made in Go, so both dialects fold the same way) for
-- case-insensitive prefix search by range scans; byte order ("C") so that a
-- prefix range is exact.
ALTER TABLE customers ADD COLUMN search_first TEXT NOT NULL DEFAULT '';
ALTER TABLE customers ADD COLUMN search_last TEXT NOT NULL DEFAULT '';
ALTER TABLE customers ADD COLUMN search_company TEXT NOT NULL DEFAULT '';
ALTER TABLE customers ADD COLUMN search_street TEXT NOT NULL DEFAULT '';

UPDATE customers SET email = lower(email), search_first = lower(first_name), search_last = lower(last_name),
    emails = CASE WHEN email = '' THEN '[]' ELSE '["' || replace(email, '"', '') || '"]' END,
    phone_numbers = CASE WHEN phone = '' THEN '[]' ELSE '["' || replace(phone, '"', '') || '"]' END;

CREATE INDEX customers_email ON customers (company_id, email);
CREATE INDEX customers_phone ON customers (company_id, phone);
CREATE INDEX customers_postal_code ON customers (company_id, postal_code);
CREATE INDEX customers_search_first ON customers (company_id, search_first);
CREATE INDEX customers_search_last ON customers (company_id, search_last);
CREATE INDEX customers_search_company ON customers (company_id, search_company);
CREATE INDEX customers_search_street ON customers (company_id, search_street);

-- Future (temporary, permanent) and historical addresses. address_id is
-- unique per customer; 1 is reserved for the home address on the customer row.
CREATE TABLE customer_addresses (
    id                          INTEGER PRIMARY KEY AUTOINCREMENT,
    company_id                  BIGINT NOT NULL REFERENCES companies(id),
    customer_id                 BIGINT NOT NULL REFERENCES customers(id),
    address_id                  INTEGER NOT NULL,
    address_type                TEXT NOT NULL,
    products                    TEXT NOT NULL DEFAULT '',
    start_date                  TEXT NOT NULL DEFAULT '',
    end_date                    TEXT NOT NULL DEFAULT '',
    care_of_address             TEXT NOT NULL DEFAULT '',
    street_address              TEXT NOT NULL DEFAULT '',
    street_number               INTEGER,
    entrance                    TEXT NOT NULL DEFAULT '',
    postal_code                 TEXT NOT NULL DEFAULT '',
    postal_place                TEXT NOT NULL DEFAULT '',
    postal_address              TEXT NOT NULL DEFAULT '',
    postal_address_postal_code  TEXT NOT NULL DEFAULT '',
    postal_address_postal_place TEXT NOT NULL DEFAULT '',
    country_code                TEXT NOT NULL DEFAULT '',
    created_at                  BIGINT NOT NULL,
    updated_at                  BIGINT NOT NULL,
    UNIQUE (customer_id, address_id)
);

CREATE TABLE customer_categories (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    company_id     BIGINT NOT NULL REFERENCES companies(id),
    customer_id    BIGINT NOT NULL REFERENCES customers(id),
    category_code  TEXT NOT NULL,
    free_value     TEXT NOT NULL DEFAULT '',
    UNIQUE (customer_id, category_code)
);

-- A customer has one reference per system, and a system's id names one
-- customer of the company (spec/customer.md "External Reference").
CREATE TABLE customer_external_refs (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    company_id      BIGINT NOT NULL REFERENCES companies(id),
    customer_id     BIGINT NOT NULL REFERENCES customers(id),
    reference_code  TEXT NOT NULL,
    external_id     TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    UNIQUE (customer_id, reference_code),
    UNIQUE (company_id, reference_code, external_id)
);

-- +goose Down
DROP TABLE customer_external_refs;
DROP TABLE customer_categories;
DROP TABLE customer_addresses;
DROP INDEX customers_search_street;
DROP INDEX customers_search_company;
DROP INDEX customers_search_last;
DROP INDEX customers_search_first;
DROP INDEX customers_postal_code;
DROP INDEX customers_phone;
DROP INDEX customers_email;
