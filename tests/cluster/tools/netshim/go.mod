module libvcluster.local/tools/netshim

go 1.26
