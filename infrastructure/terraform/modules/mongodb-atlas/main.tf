# MongoDB Atlas for SrvThreds: a project, a replica-set cluster on AWS in the
# environment's region, the application's database user, and network access:
# an IP access list (the VPC's NAT addresses) and, optionally, an AWS
# PrivateLink endpoint into the VPC.

terraform {
  required_providers {
    aws = {
      source = "hashicorp/aws"
    }
    mongodbatlas = {
      source = "mongodb/mongodbatlas"
    }
  }
}

locals {
  # Atlas names AWS regions in upper case with underscores: us-west-2 -> US_WEST_2.
  atlas_region = upper(replace(var.region, "-", "_"))
}

resource "mongodbatlas_project" "this" {
  name   = var.project_name
  org_id = var.org_id
}

resource "mongodbatlas_advanced_cluster" "this" {
  project_id                     = mongodbatlas_project.this.id
  name                           = var.cluster_name
  cluster_type                   = "REPLICASET"
  mongo_db_major_version         = var.mongodb_version
  backup_enabled                 = var.backup_enabled
  termination_protection_enabled = var.termination_protection

  replication_specs {
    region_configs {
      provider_name = "AWS"
      region_name   = local.atlas_region
      priority      = 7

      electable_specs {
        instance_size = var.instance_size
        node_count    = var.node_count
      }

      auto_scaling {
        disk_gb_enabled = true
      }
    }
  }

  tags {
    key   = "environment"
    value = var.environment
  }

  # A private endpoint must exist before the cluster's private connection
  # strings are generated.
  depends_on = [mongodbatlas_privatelink_endpoint_service.this]
}

resource "mongodbatlas_database_user" "app" {
  project_id         = mongodbatlas_project.this.id
  username           = var.database_username
  password           = var.database_password
  auth_database_name = "admin"

  roles {
    role_name     = "readWrite"
    database_name = var.database_name
  }

  scopes {
    name = mongodbatlas_advanced_cluster.this.name
    type = "CLUSTER"
  }
}

resource "mongodbatlas_project_ip_access_list" "this" {
  for_each = toset(var.allowed_cidrs)

  project_id = mongodbatlas_project.this.id
  cidr_block = each.value
  comment    = "${var.environment}: SrvThreds cluster egress"
}

# --- Optional AWS PrivateLink endpoint ----------------------------------------

resource "mongodbatlas_privatelink_endpoint" "this" {
  count = var.enable_private_endpoint ? 1 : 0

  project_id    = mongodbatlas_project.this.id
  provider_name = "AWS"
  region        = var.region
}

resource "aws_security_group" "private_endpoint" {
  count = var.enable_private_endpoint ? 1 : 0

  name        = "${var.cluster_name}-atlas-endpoint"
  description = "MongoDB Atlas PrivateLink endpoint for ${var.cluster_name}"
  vpc_id      = var.vpc_id

  # Atlas maps each replica-set member to its own port on the endpoint.
  ingress {
    description = "MongoDB from the VPC"
    from_port   = 1024
    to_port     = 65535
    protocol    = "tcp"
    cidr_blocks = [var.vpc_cidr_block]
  }

  tags = merge(var.tags, { Name = "${var.cluster_name}-atlas-endpoint" })
}

resource "aws_vpc_endpoint" "atlas" {
  count = var.enable_private_endpoint ? 1 : 0

  vpc_id             = var.vpc_id
  service_name       = mongodbatlas_privatelink_endpoint.this[0].endpoint_service_name
  vpc_endpoint_type  = "Interface"
  subnet_ids         = var.subnet_ids
  security_group_ids = [aws_security_group.private_endpoint[0].id]

  tags = merge(var.tags, { Name = "${var.cluster_name}-atlas" })
}

resource "mongodbatlas_privatelink_endpoint_service" "this" {
  count = var.enable_private_endpoint ? 1 : 0

  project_id          = mongodbatlas_privatelink_endpoint.this[0].project_id
  private_link_id     = mongodbatlas_privatelink_endpoint.this[0].private_link_id
  endpoint_service_id = aws_vpc_endpoint.atlas[0].id
  provider_name       = "AWS"
}

locals {
  public_srv = mongodbatlas_advanced_cluster.this.connection_strings[0].standard_srv
  # Empty until the private endpoint is connected; then the workloads in the
  # VPC use it instead of the public address.
  private_srv = try(mongodbatlas_advanced_cluster.this.connection_strings[0].private_endpoint[0].srv_connection_string, "")
  app_srv     = var.enable_private_endpoint && local.private_srv != "" ? local.private_srv : local.public_srv
}
