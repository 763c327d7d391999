"""The webhook's certificate is reloaded when its files change (a regenerated or renewed Secret),
so new connections get the new one without a restart."""

import asyncio
import os
import ssl
import subprocess
from pathlib import Path

from kaico.admission.server import reload_certificates
from kaico.runtime.metrics import tls_context


def make_pair(directory: Path, name: str) -> tuple[Path, Path]:
    cert, key = directory / f"{name}.crt", directory / f"{name}.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", f"/CN={name}"],
                   check=True, capture_output=True, timeout=30)
    return cert, key


async def served_certificate(context: ssl.SSLContext) -> bytes:
    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # until the client closes
        writer.close()

    server = await asyncio.start_server(hold, "127.0.0.1", 0, ssl=context)
    port = server.sockets[0].getsockname()[1]
    client = ssl.create_default_context()
    client.check_hostname, client.verify_mode = False, ssl.CERT_NONE
    _, writer = await asyncio.open_connection("127.0.0.1", port, ssl=client)
    der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
    writer.close()
    await writer.wait_closed()
    server.close()
    await server.wait_closed()
    return der


def test_a_changed_certificate_is_served_to_new_connections(tmp_path):
    first_cert, first_key = make_pair(tmp_path, "first")
    second_cert, second_key = make_pair(tmp_path, "second")
    serving_cert, serving_key = tmp_path / "tls.crt", tmp_path / "tls.key"
    serving_cert.write_bytes(first_cert.read_bytes())
    serving_key.write_bytes(first_key.read_bytes())

    async def scenario() -> tuple[bytes, bytes, bytes]:
        context = tls_context(str(serving_cert), str(serving_key))
        reloading = asyncio.create_task(reload_certificates(context, str(serving_cert), str(serving_key), every=0.05))
        before = await served_certificate(context)
        # Half-written (the key not yet there): the old pair stays in service.
        serving_cert.write_bytes(second_cert.read_bytes())
        serving_key.write_text("not a key")
        os.utime(serving_cert, (1, 1))
        await asyncio.sleep(0.2)
        during = await served_certificate(context)
        serving_key.write_bytes(second_key.read_bytes())
        await asyncio.sleep(0.2)
        after = await served_certificate(context)
        reloading.cancel()
        return before, during, after

    before, during, after = asyncio.run(scenario())
    first_der = ssl.PEM_cert_to_DER_cert(first_cert.read_text())
    second_der = ssl.PEM_cert_to_DER_cert(second_cert.read_text())
    assert before == first_der and during == first_der
    assert after == second_der
