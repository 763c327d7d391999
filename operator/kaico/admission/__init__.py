"""The validating admission webhook: kaico's findings at kubectl apply (docs/admission.md)."""
