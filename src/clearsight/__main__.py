from clearsight.cli.app import run

run()
