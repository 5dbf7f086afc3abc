from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def playground(request: HttpRequest) -> HttpResponse:
    return render(request, "playground.html")


def jinja_page(request: HttpRequest) -> HttpResponse:
    return render(request, "jinja_page.html", using="jinja2")
