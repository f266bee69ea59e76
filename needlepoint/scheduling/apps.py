from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    """Appointments: clinician calendars, booking, statuses, reminders and calendar feeds."""

    name = "needlepoint.scheduling"
    label = "scheduling"

    def ready(self) -> None:
        from needlepoint.patients.actions import death_recorded
        from needlepoint.scheduling import panels  # noqa: F401  registers the patient page's appointments panel
        from needlepoint.scheduling.actions import cancel_on_death, complete_when_visit_signed
        from needlepoint.visits.actions.signing import visit_signed

        # A visit's appointment is completed in the same transaction that signs the visit. A receiver
        # rather than a call inside visits.actions.sign_visit keeps the visit code unaware of appointments.
        visit_signed.connect(complete_when_visit_signed, dispatch_uid="appointment_on_visit_sign")
        # Recording a death cancels the patient's future appointments in the same transaction; the patients app
        # sits below scheduling and cannot call it, so it sends ``death_recorded`` and this receiver answers.
        death_recorded.connect(cancel_on_death, dispatch_uid="cancel_appointments_on_death")
