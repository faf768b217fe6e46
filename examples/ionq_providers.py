"""IonQ from three SDKs and raw HTTP (leaky on purpose: FAKE keys)."""
import cirq_ionq as ionq
import pennylane as qml
import requests
from pytket.extensions.ionq import IonQBackend
from qiskit_ionq import IonQProvider

provider = IonQProvider("a5orD2jGWS79poHinmfRGKk8sGcmr2Wx")                      # positional token
service = ionq.Service("https://api.ionq.co/v0.4", "oPLl76OqFusw9WwjeVqi1Q5NRHPPqo76")  # api_key is argument 2
dev = qml.device("ionq.simulator", wires=2, api_key="kcFbAVneeSF9RzID2jOSEkmspvWHIibx")
backend = IonQBackend("qpu.aria-1", "workshop-2024-k3y")      # unusual shape: KG102
jobs = requests.get("https://api.ionq.co/v0.4/jobs", headers={"Authorization": "apiKey a5orD2jGWS79poHinmfRGKk8sGcmr2Wx"})
