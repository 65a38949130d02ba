-- Monthly reports already mailed (`[report] monthly_to`), so each goes out once.
CREATE TABLE reports_sent (
    period TEXT PRIMARY KEY,                        -- YYYY-MM-DD..YYYY-MM-DD
    at     TEXT NOT NULL
);
