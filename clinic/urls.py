from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.views.generic import RedirectView

from clinic import views

admin.site.site_header = "Threadline clinic settings"
admin.site.site_title = "Threadline"

urlpatterns = [
    path("", views.home, name="home"),
    path("audit/", views.audit_trail, name="audit_trail"),
    path("location/", views.choose_location, name="choose_location"),
    path("healthz", views.healthz, name="healthz"),
    path("", include("consultations.urls")),
    path("", include("treatments.urls")),
    path("accounts/", include("django.contrib.auth.urls")),
    # One sign-in page for everything, with its lockout: the admin uses ours.
    path(
        "admin/login/",
        login_not_required(RedirectView.as_view(pattern_name="login", query_string=True)),
        name="admin_login_redirect",
    ),
    path("admin/", admin.site.urls),
]
