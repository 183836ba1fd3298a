# Starts LocalStack for fargate-sim (host mode). Run as `python -c <this file's text>`.
#
# Two things the environment variables alone cannot do:
# - LocalStack's first S3 request checks whether `s3.localhost.localstack.cloud` resolves, through
#   the system resolver, so a query leaves the machine. The answer only decides which host name
#   LocalStack's internal S3 clients use; recording "does not resolve" up front makes them use
#   `localhost`, and no lookup is made.
# - The default HTTP server (twisted) ignores the host of GATEWAY_LISTEN and listens on every
#   interface; GATEWAY_SERVER=hypercorn (set by the caller) binds the host it is given. This
#   launcher refuses to start if the caller did not choose it.
import os
import runpy
import sys

if os.environ.get("GATEWAY_SERVER") != "hypercorn":
    sys.exit("fargate-sim launcher: GATEWAY_SERVER must be hypercorn (twisted listens on 0.0.0.0)")

import localstack.utils.aws.aws_stack as aws_stack

aws_stack.CACHE_S3_HOSTNAME_DNS_STATUS = False
sys.argv = ["localstack.runtime.main"]
runpy.run_module("localstack.runtime.main", run_name="__main__", alter_sys=True)
