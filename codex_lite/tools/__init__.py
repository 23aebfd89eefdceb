"""The tools the model can call: shell, apply_patch, update_plan."""
