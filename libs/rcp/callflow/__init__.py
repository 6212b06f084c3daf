"""The receptionist's call flow, pure: what stasis runs for every call and the admin's
simulator runs for a tenant trying its menus (`flow.step`), with the values it reads and
answers (`config`, `events`, `commands`, `prompts`, `ids`) and the configuration built from a
tenant's snapshot (`snapshot`). Nothing here does I/O or imports a library that does."""
