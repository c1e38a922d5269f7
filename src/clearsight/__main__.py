from clearsight.cli.entry import run

run()
