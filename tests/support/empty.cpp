// Keeps the support library non-empty while no support source exists yet.
