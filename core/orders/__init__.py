"""Orders: the model and its states, the store and its Lua, what each step does."""
