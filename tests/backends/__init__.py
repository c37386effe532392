"""The server backends: process, containers and an external (staging) stack."""
