"""The demo: sample images, users, labels and tasks, seeded by `labelstack demo`."""
