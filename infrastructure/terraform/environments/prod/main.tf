# SrvThreds cloud environment root. The three environments (dev, staging,
# prod) share this file word for word; what differs is in terraform.tfvars
# (sizes, CIDRs) and in the backend configuration given to `terraform init`.
#
# Secrets are variables without defaults, marked sensitive, and come from
# TF_VAR_* environment variables (see ../../README.md); none is in a file.

terraform {
  required_version = ">= 1.6.0, < 2.0.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.80"
    }
    tls = {
      source  = "hashicorp/tls"
      version = "~> 4.0"
    }
    mongodbatlas = {
      source  = "mongodb/mongodbatlas"
      version = "~> 1.26"
    }
    rediscloud = {
      source  = "RedisLabs/rediscloud"
      version = "~> 2.0"
    }
    cloudamqp = {
      source  = "cloudamqp/cloudamqp"
      version = "~> 1.32"
    }
  }

  # S3 state with DynamoDB locking, given at init time (partial configuration):
  #   terraform init -backend-config=backend.hcl
  # backend.hcl.example beside this file lists the keys.
  backend "s3" {}
}

locals {
  tags = {
    Project     = "srvthreds"
    Environment = var.environment
    ManagedBy   = "terraform"
  }

  # Outbound traffic of the cluster leaves through the NAT gateways: these are
  # the addresses the managed services admit.
  egress_cidrs = [for ip in module.networking.nat_public_ips : "${ip}/32"]
}

provider "aws" {
  region = var.region

  default_tags {
    tags = local.tags
  }
}

provider "mongodbatlas" {
  public_key  = var.atlas_public_key
  private_key = var.atlas_private_key
}

provider "rediscloud" {
  api_key    = var.rediscloud_api_key
  secret_key = var.rediscloud_secret_key
}

provider "cloudamqp" {
  apikey = var.cloudamqp_api_key
}

module "networking" {
  source = "../../modules/networking"

  name               = var.cluster_name
  cluster_name       = var.cluster_name
  vpc_cidr           = var.vpc_cidr
  az_count           = var.az_count
  single_nat_gateway = var.single_nat_gateway
  tags               = local.tags
}

module "eks" {
  source = "../../modules/eks"

  cluster_name                 = var.cluster_name
  kubernetes_version           = var.kubernetes_version
  subnet_ids                   = module.networking.private_subnet_ids
  endpoint_public_access_cidrs = var.cluster_endpoint_public_access_cidrs
  admin_principal_arns         = var.cluster_admin_principal_arns
  node_groups                  = var.node_groups
  tags                         = local.tags
}

module "mongodb_atlas" {
  source = "../../modules/mongodb-atlas"

  org_id                  = var.atlas_org_id
  project_name            = var.cluster_name
  cluster_name            = var.cluster_name
  environment             = var.environment
  region                  = var.region
  instance_size           = var.mongodb_instance_size
  node_count              = var.mongodb_node_count
  backup_enabled          = var.mongodb_backup_enabled
  termination_protection  = var.mongodb_termination_protection
  database_username       = var.mongodb_username
  database_password       = var.mongodb_password
  allowed_cidrs           = local.egress_cidrs
  enable_private_endpoint = var.mongodb_private_endpoint
  vpc_id                  = module.networking.vpc_id
  vpc_cidr_block          = module.networking.vpc_cidr_block
  subnet_ids              = module.networking.private_subnet_ids
  tags                    = local.tags
}

module "redis_cloud" {
  source = "../../modules/redis-cloud"

  subscription_name            = var.cluster_name
  region                       = var.region
  deployment_cidr              = var.redis_deployment_cidr
  multiple_availability_zones  = var.redis_multiple_availability_zones
  preferred_availability_zones = var.redis_availability_zone_ids
  payment_method               = var.redis_payment_method
  payment_card_type            = var.redis_payment_card_type
  dataset_size_in_gb           = var.redis_dataset_size_in_gb
  throughput_ops_per_second    = var.redis_throughput_ops_per_second
  replication                  = var.redis_replication
  database_password            = var.redis_password
  allowed_cidrs                = local.egress_cidrs
}

module "cloudamqp" {
  source = "../../modules/cloudamqp"

  instance_name = var.cluster_name
  environment   = var.environment
  region        = var.region
  plan          = var.rabbitmq_plan
  allowed_cidrs = var.rabbitmq_firewall ? local.egress_cidrs : []
}
