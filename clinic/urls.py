from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.views.generic import RedirectView

from clinic import staff_views, two_factor, views
from clinic.site import audit_views, home

handler500 = "clinic.errors.server_error"

admin.site.site_header = "Threadline clinic settings"
admin.site.site_title = "Threadline"

urlpatterns = [
    path("", home.home, name="home"),
    path("audit/", audit_views.audit_trail, name="audit_trail"),
    path("location/", views.choose_location, name="choose_location"),
    path("healthz", views.healthz, name="healthz"),
    path("staff/", staff_views.staff_list, name="staff_list"),
    path(
        "staff/<int:pk>/reset-two-factor/",
        staff_views.reset_two_factor,
        name="staff_reset_two_factor",
    ),
    path("accounts/two-factor/", two_factor.verify, name="two_factor_verify"),
    path("accounts/two-factor/setup/", two_factor.setup, name="two_factor_setup"),
    path(
        "accounts/two-factor/backup-codes/",
        two_factor.backup_codes,
        name="two_factor_backup_codes",
    ),
    path("accounts/two-factor/settings/", two_factor.manage, name="two_factor_settings"),
    path(
        "accounts/two-factor/new-backup-codes/",
        two_factor.replace_backup_codes,
        name="two_factor_new_backup_codes",
    ),
    path("accounts/keepalive/", two_factor.keepalive, name="keepalive"),
    path("", include("clinic.site.urls")),
    path("", include("consultations.urls")),
    path("", include("treatments.urls")),
    path("book/", include("consultations.online_urls")),
    path("accounts/", include("django.contrib.auth.urls")),
    # One sign-in page for everything, with its lockout: the admin uses ours.
    path(
        "admin/login/",
        login_not_required(RedirectView.as_view(pattern_name="login", query_string=True)),
        name="admin_login_redirect",
    ),
    path("admin/", admin.site.urls),
]
