# prod: production. Non-secret values only; the secrets come from TF_VAR_*
# environment variables (see ../../README.md).

environment        = "prod"
region             = "us-west-2"
cluster_name       = "srvthreds-prod"
kubernetes_version = "1.31"

# Network: three AZs, one NAT gateway per AZ.
vpc_cidr           = "10.30.0.0/16"
az_count           = 3
single_nat_gateway = false

# Engine 3 replicas, agents 2 each, HPA up to 10/6/6: room to scale out.
node_groups = {
  general = {
    instance_types = ["m5.xlarge"]
    min_size       = 3
    max_size       = 10
    desired_size   = 3
    disk_size      = 100
    labels         = { workload = "general" }
  }
}

mongodb_instance_size          = "M30"
mongodb_node_count             = 3
mongodb_backup_enabled         = true
mongodb_termination_protection = true
mongodb_private_endpoint       = true

redis_deployment_cidr             = "10.130.0.0/24"
redis_multiple_availability_zones = true
redis_availability_zone_ids       = ["usw2-az1", "usw2-az2", "usw2-az3"]
redis_dataset_size_in_gb          = 5
redis_throughput_ops_per_second   = 10000

# CloudAMQP: a three-node dedicated cluster, behind the firewall.
rabbitmq_plan     = "bunny-3"
rabbitmq_firewall = true
