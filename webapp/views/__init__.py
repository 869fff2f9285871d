"""The web app's pages, one blueprint per area: auth, subjects (casebook), entry (forms),
queries, design (metadata versions) and admin (users)."""
