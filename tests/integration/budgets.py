"""Small token budgets for runs on real models in tests."""

SMALL = ["--n-personas", "3", "--persona-attempts", "1", "--persona-tokens", "80", "--comment-tokens", "32", "--moderator-tokens", "32"]
