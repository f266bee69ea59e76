"""Appointment pages: calendars, booking, appointments, reminder preferences and calendar feeds."""

from __future__ import annotations

from django.urls import path

from needlepoint.scheduling import views

urlpatterns = [
    path("schedule/", views.clinic_day, name="schedule"),
    path("schedule/clinicians/<int:clinician_id>/", views.clinician_calendar, name="clinician_calendar"),
    path("schedule/book/", views.book, name="book"),
    path("schedule/patients/<int:patient_id>/reminders/", views.contact_preference, name="contact_preference"),
    path("schedule/calendar-feed/", views.feeds, name="calendar_feeds"),
    path("appointments/<int:appointment_id>/", views.appointment_detail, name="appointment"),
    path("appointments/<int:appointment_id>/status/", views.appointment_status, name="appointment_status"),
    path("appointments/<int:appointment_id>/start-visit/", views.appointment_start_visit, name="appointment_start"),
    path("appointments/<int:appointment_id>/reminder/", views.appointment_remind, name="appointment_remind"),
    path("calendar-feed/<str:token>.ics", views.feed, name="calendar_feed"),
]
