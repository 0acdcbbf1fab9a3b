"""A clinic's mixed day against gunicorn (`make loadtest`): HTTP only, on loopback.

Front desk (3 in 5 users): search patients, open day views, book appointments and
move them. Practitioners (2 in 5): open charts, save plans, print aftercare.
A 409 (slot taken, plan changed) is the app answering correctly under contention
and is counted as a success; anything 5xx, or a 4xx elsewhere, is an error.
"""

import json
import os
import random
import re
from datetime import date, timedelta

from locust import HttpUser, between, task

PASSWORD = os.environ["LOADTEST_PASSWORD"]
DATA = json.loads(open(os.environ["LOADTEST_DATA"]).read())  # noqa: SIM115
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
NAMES = ["ström", "ang", "berg", "zoë", "priya", "mar", "ok", "sil", "nak", "fern"]


class ClinicUser(HttpUser):
    abstract = True
    wait_time = between(1, 3)
    username = ""

    def sign_in(self) -> None:
        page = self.client.get("/accounts/login/", name="sign-in page")
        token = CSRF.search(page.text).group(1)
        self.client.post(
            "/accounts/login/",
            {"username": self.username, "password": PASSWORD, "csrfmiddlewaretoken": token},
            headers={"Referer": f"{self.host}/accounts/login/"},
            name="sign in",
        )

    def csrf(self) -> str:
        return self.client.cookies.get("csrftoken", "")

    def day(self, spread: int = 20) -> str:
        return (date.today() + timedelta(days=random.randint(1, spread))).isoformat()


class FrontDesk(ClinicUser):
    weight = 3

    def on_start(self):
        self.username = "seed-desk"
        self.sign_in()

    @task(5)
    def search(self):
        self.client.get(f"/patients/search/?q={random.choice(NAMES)}", name="patient search")

    @task(3)
    def day_view(self):
        self.client.get(
            f"/calendar/?date={self.day()}", name="day view", headers={"HX-Request": "true"}
        )

    @task(1)
    def book(self):
        practitioner = random.choice(DATA["practitioners"])
        hour, minute = random.randint(8, 16), random.choice([0, 20, 40])
        with self.client.post(
            "/appointments/new/",
            {
                "patient": random.choice(DATA["record_numbers"]),
                "practitioner": practitioner,
                "appointment_type": DATA["review_type"],
                "starts_at": f"{self.day(300)}T{hour:02d}:{minute:02d}",
                "csrfmiddlewaretoken": self.csrf(),
            },
            headers={"Referer": f"{self.host}/appointments/new/"},
            name="book appointment",
            catch_response=True,
        ) as response:
            if response.status_code in (302, 409, 400):
                response.success()  # booked, taken, or outside hours: all answered properly

    @task(1)
    def move(self):
        appointment = random.choice(DATA["movable"])
        hour, minute = random.randint(8, 16), random.choice([0, 20, 40])
        with self.client.post(
            f"/appointments/{appointment}/move/",
            json.dumps({"starts_at": f"{self.day(300)}T{hour:02d}:{minute:02d}"}),
            headers={"X-CSRFToken": self.csrf(), "Content-Type": "application/json"},
            name="move appointment",
            catch_response=True,
        ) as response:
            if response.status_code in (200, 409, 400):
                response.success()


class Practitioner(ClinicUser):
    weight = 2

    def on_start(self):
        mine = random.choice(DATA["practitioner_work"])
        self.username, self.plan, self.sessions = mine["username"], mine["plan"], mine["sessions"]
        self.patients = mine["patients"]
        self.sign_in()

    @task(4)
    def chart(self):
        self.client.get(f"/patients/{random.choice(self.patients)}/", name="patient chart")

    @task(2)
    def save_plan(self):
        state = self.client.get(f"/plans/{self.plan}/", name="planner")
        match = re.search(r'"revision": (\d+)', state.text)  # from the page's JSON data block
        revision = int(match.group(1)) if match else 1
        vectors = [
            {
                "area": "midface",
                "side": side,
                "product": DATA["product"],
                "count": 2,
                "view": "front",
                "entry": [x, 0.55],
                "end": [x + dx, 0.25],
                "depth": "subcutaneous",
                "notes": "",
            }
            for side, x, dx in (("left", 0.36, -0.03), ("right", 0.64, 0.03))
        ] * random.randint(1, 10)
        with self.client.post(
            f"/plans/{self.plan}/vectors/",
            json.dumps({"revision": revision, "vectors": vectors}),
            headers={"X-CSRFToken": self.csrf(), "Content-Type": "application/json"},
            name="save plan",
            catch_response=True,
        ) as response:
            if response.status_code in (200, 409):
                response.success()

    @task(1)
    def print_aftercare(self):
        self.client.get(
            f"/sessions/{random.choice(self.sessions)}/aftercare.pdf", name="aftercare PDF"
        )
