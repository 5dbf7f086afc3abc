# streamui: the chat app, Channels, and Daphne (first, so `runserver` serves WebSockets too).
import os

INSTALLED_APPS = ["daphne", *INSTALLED_APPS, "channels", "streamui"]
ASGI_APPLICATION = "mysite.asgi.application"
TEMPLATES[0]["DIRS"] = [BASE_DIR / "templates"]

# Any OpenAI-compatible server (OpenAI, vLLM, llama.cpp, Ollama, ...). Without an upstream,
# streamui answers with its simulated model, and `manage.py check` warns when DEBUG is off.
STREAMUI = {
    "UPSTREAM_URL": os.environ.get("LLM_BASE_URL", "http://127.0.0.1:8080/v1"),
    "UPSTREAM_MODEL": os.environ.get("LLM_MODEL", "gpt-4o-mini"),
    "UPSTREAM_API_KEY": os.environ.get("LLM_API_KEY"),
}
