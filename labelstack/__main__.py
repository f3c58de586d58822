from labelstack.cli import app

app(prog_name="labelstack")
