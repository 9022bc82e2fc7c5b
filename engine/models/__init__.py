"""Model side: prompt sets and generation with local Hugging Face causal LMs."""
