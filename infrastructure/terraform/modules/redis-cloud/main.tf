# Redis Cloud (Pro) for SrvThreds: a subscription on AWS in the environment's
# region and one database in it, reachable over TLS from the allowed source
# addresses only (the VPC's NAT addresses).

terraform {
  required_providers {
    rediscloud = {
      source = "RedisLabs/rediscloud"
    }
  }
}

# The card the subscription is billed to; not needed for marketplace billing.
data "rediscloud_payment_method" "card" {
  count = var.payment_method == "credit-card" ? 1 : 0

  card_type         = var.payment_card_type
  last_four_numbers = var.payment_card_last_four
}

resource "rediscloud_subscription" "this" {
  name              = var.subscription_name
  payment_method    = var.payment_method
  payment_method_id = var.payment_method == "credit-card" ? data.rediscloud_payment_method.card[0].id : null
  memory_storage    = "ram"

  cloud_provider {
    provider = "AWS"

    region {
      region                       = var.region
      multiple_availability_zones  = var.multiple_availability_zones
      networking_deployment_cidr   = var.deployment_cidr
      preferred_availability_zones = var.preferred_availability_zones
    }
  }

  # Only read when the subscription is created: sizes the underlying cluster
  # for the database below.
  creation_plan {
    dataset_size_in_gb           = var.dataset_size_in_gb
    quantity                     = 1
    replication                  = var.replication
    throughput_measurement_by    = "operations-per-second"
    throughput_measurement_value = var.throughput_ops_per_second
  }
}

resource "rediscloud_subscription_database" "this" {
  subscription_id              = rediscloud_subscription.this.id
  name                         = var.database_name
  dataset_size_in_gb           = var.dataset_size_in_gb
  throughput_measurement_by    = "operations-per-second"
  throughput_measurement_value = var.throughput_ops_per_second
  replication                  = var.replication
  data_persistence             = var.data_persistence
  data_eviction                = "noeviction"
  password                     = var.database_password
  enable_tls                   = var.enable_tls
  source_ips                   = var.allowed_cidrs

  alert {
    name  = "dataset-size"
    value = 80
  }
}

locals {
  # public_endpoint is "host:port".
  endpoint_parts = split(":", rediscloud_subscription_database.this.public_endpoint)
}
