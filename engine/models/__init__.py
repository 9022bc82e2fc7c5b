"""Model side: prompt sets (prompts), sampled generations (generate), exact next-word group
shares (probe), WinoBias likelihood scores (winobias) and a tiny random test model (tiny), all
with local Hugging Face causal LMs (hf). docs/models.md has the definitions."""
