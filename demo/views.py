from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

TRANSPORTS = ("auto", "websocket", "sse")


def playground(request: HttpRequest) -> HttpResponse:
    transport = request.GET.get("transport", "")
    return render(request, "playground.html", {"transport": transport if transport in TRANSPORTS else None})


def jinja_page(request: HttpRequest) -> HttpResponse:
    return render(request, "jinja_page.html", using="jinja2")
