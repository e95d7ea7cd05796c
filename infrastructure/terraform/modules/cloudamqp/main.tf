# CloudAMQP for SrvThreds: a hosted RabbitMQ instance in the environment's AWS
# region and, on dedicated plans, a firewall that admits only the allowed
# source addresses (the VPC's NAT addresses).

terraform {
  required_providers {
    cloudamqp = {
      source = "cloudamqp/cloudamqp"
    }
  }
}

resource "cloudamqp_instance" "this" {
  name        = var.instance_name
  plan        = var.plan
  region      = "amazon-web-services::${var.region}"
  rmq_version = var.rabbitmq_version
  tags        = concat(["srvthreds", var.environment], var.extra_tags)
}

# Shared plans have no firewall; leave allowed_cidrs empty for them.
resource "cloudamqp_security_firewall" "this" {
  count = length(var.allowed_cidrs) > 0 ? 1 : 0

  instance_id = cloudamqp_instance.this.id

  dynamic "rules" {
    for_each = var.allowed_cidrs

    content {
      ip          = rules.value
      services    = ["AMQPS", "HTTPS"]
      description = "${var.environment}: SrvThreds cluster egress"
    }
  }
}
