"""The server's side of the MQTT broker link: the embedded Mosquitto, its certificates, the inbox."""
